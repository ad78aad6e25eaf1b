"""Authorization-matrix expectations of the audit routes, on real events and users.

Auditors (audrey) read every agency's trail; supervisors (sam, ICE-HSI) their own agency's. The
objects: an event of ICE-HSI (alice's sign-in), an event of USCIS (adam's), and the timelines of
alice (ICE-HSI) and adam (USCIS).
"""

from __future__ import annotations

from typing import Any

from tests.privacy.authmatrix import SIGNED_IN, Route, page

AUDIT_READERS = {"sam", "audrey"}


def build(world: dict[str, Any]) -> None:
    from audit.models import AuditEvent
    from audit.services import event_record

    for who in ("alice", "adam"):
        event_record(action="directory.user_changed", actor=world[who], object_type="matrix")
    world["events"] = {
        who: AuditEvent.objects.filter(actor_id=world[who].pk, object_type="matrix").latest("id")
        for who in ("alice", "adam")
    }


def _event(who: str) -> Any:
    return lambda w: {"pk": w["events"][who].pk}


def _timeline(who: str) -> Any:
    return lambda w: {"user_id": w[who].pk}


EXPECTATIONS: dict[str, Route] = {
    "audit:browser": page(AUDIT_READERS),
    "audit:event": page(AUDIT_READERS, kwargs=_event("alice")),
    "audit:event other-agency": page({"audrey": 200, "sam": 404}, kwargs=_event("adam")),
    "audit:event missing": page(dict.fromkeys(AUDIT_READERS, 404), kwargs={"pk": 999999}),
    "audit:timeline": page(AUDIT_READERS, kwargs=_timeline("alice")),
    "audit:timeline other-agency": page({"audrey": 200, "sam": 404}, kwargs=_timeline("adam")),
    "audit:export": page(AUDIT_READERS),
    "audit:review": page({"sam"}),
    "audit:status": page(AUDIT_READERS),
    "audit:verify": page(dict.fromkeys(SIGNED_IN, 405)),
    "audit:checkpoint-key": Route(
        expect=dict.fromkeys(("anonymous", *SIGNED_IN, "api_key"), 200), default=200
    ),
}
