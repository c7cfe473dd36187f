"""The pure domain core: plan, indicator values, rating rules, validation, rates.

Plain Python and pandas. Nothing here imports Prefect, WeasyPrint or slack_sdk, opens a file
or talks to a network; a test enforces it.
"""
