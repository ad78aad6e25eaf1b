"""Authorization-matrix expectations of the cross-reference routes, on real runs.

Runs are seen by supervisors and admins (sam, adam); only the owner or an admin cancels one.
Two runs: adam's (USCIS, employer rules) and a finished one of his, so the progress fragment is
asked of both a running and a finished run.
"""

from __future__ import annotations

from typing import Any

from tests.privacy.authmatrix import SIGNED_IN, Route, page

MATCHING = {"sam", "adam"}


def build(world: dict[str, Any]) -> None:
    from crossref import services
    from crossref.models import RunStatus

    adam = world["adam"]
    world["runs"] = {
        "running": services.run_start(actor=adam, rules=["EMP-FNC-KEPT"], enqueue=False),
        "cancelled": services.run_cancel(
            actor=adam, run=services.run_start(actor=adam, rules=["EMP-FNC-KEPT"], enqueue=False)
        ),
    }
    assert world["runs"]["cancelled"].status == RunStatus.CANCELLED


def _run(key: str) -> Any:
    return lambda w: {"pk": w["runs"][key].pk}


EXPECTATIONS: dict[str, Route] = {
    "crossref:run-list": page(MATCHING),
    "crossref:run-detail": page(MATCHING, kwargs=_run("running")),
    "crossref:run-detail cancelled": page(MATCHING, kwargs=_run("cancelled")),
    "crossref:run-detail missing": page(dict.fromkeys(MATCHING, 404), kwargs={"pk": 999999}),
    "crossref:run-progress": page(MATCHING, kwargs=_run("running")),
    "crossref:run-progress cancelled": page(MATCHING, kwargs=_run("cancelled")),
    "crossref:run-cancel": page(dict.fromkeys(SIGNED_IN, 405), kwargs=_run("running")),
    # only its owner (or an admin) cancels a run: sam, who sees it, is sent back to the run page
    # with the refusal (tests/crossref/test_views.py checks the run goes on)
    "crossref:run-cancel POST": page(
        {"adam": "redirect", "sam": "redirect"}, method="POST", kwargs=_run("running")
    ),
    "crossref:quality": page(MATCHING),
}
