"""Demo and test drivers, outside the library: they play the calendar, the departments and the reviewer.

    scenario       the timeline of a plan's year (FY2020 of Kanagawa as the seed tells it; any other plan and year
                   from its cycle.yaml deadline) and each department's filled workbook (and one bad first try)
    in_process     the whole cycle in one process on a temporary Prefect server (`tenken-demo`)
    deployed       the same through the deployments on a running server and worker (`tenken-demo --deployed`)
    review_client  answer a paused review through the Prefect API, as the UI's Resume form does
    slack_standin  a local HTTP stand-in of the Slack Web API for tests
    cli            the `tenken-demo` command (what `make demo` runs)
"""
