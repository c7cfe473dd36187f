"""A department's plan (what its form is checked against) is the plan cut down to the nodes on the paths of
its measures, in the plan's order, each node with that department's measures only. Issue 14 builds it from
an index of the tree instead of walking every node: the result must be the same plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenken.config import load_plan
from tenken.core.plan import Node, Plan
from tenken.workbook.submission import PlanIndex, department_plan

ROOT = Path(__file__).resolve().parents[2]
PLANS = {
    "kanagawa": (ROOT / "tenken" / "examples" / "kanagawa", 2020),
    "minato": (ROOT / "tenken" / "examples" / "minato", 2024),
    "city": (ROOT / "tests" / "fixtures" / "city_plan", 2024),
}


def walked(plan: Plan, department: str) -> tuple[dict, ...]:
    """The plan's tree cut down by walking it whole: a node stays when one of the department's measures
    lies under it (or in it)."""

    def keep(node: Node) -> dict | None:
        children = [c for c in (keep(child) for child in node.children) if c is not None]
        measures = [m.model_dump() for m in node.measures if m.department == department]
        if not children and not measures:
            return None
        return {**node.model_dump(exclude={"children", "measures"}), "children": tuple(children),
                "measures": tuple(measures)}

    return tuple(n for n in (keep(node) for node in plan.tree) if n is not None)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_each_departments_plan_is_the_tree_cut_down_to_its_own_measures(name):
    plan = load_plan(PLANS[name][0])
    index = PlanIndex(plan, PLANS[name][1])
    for department in [d.key for d in plan.departments]:
        expected = walked(plan, department)
        for cut in (department_plan(plan, department), index.department_plan(department)):
            assert tuple(node.model_dump() for node in cut.tree) == expected, department
            assert [m.key for m in cut.measures] == [m.key for m in plan.measures if m.department == department]
            assert (cut.name, cut.id, cut.levels, cut.rating, cut.departments) == (
                plan.name, plan.id, plan.levels, plan.rating, plan.departments)
