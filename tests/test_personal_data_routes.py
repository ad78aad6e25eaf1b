"""Every screen that can show a person's data, walked as every persona (issue 16's read path).

For each route the URL resolver knows, as each persona of tests/conftest.py:
- no field outside the reader's data categories appears: the date of birth, the SSN's and the
  A-Number's last four are checked in the formats the pages and exports use;
- a page that shows the worker's record also recorded the read (an audit event by that reader
  naming the worker, in that request).

A route that takes a parameter must be classified below (`ARGS` gives it its object, `NO_PERSON`
says why it shows no one's record): a new route that is not fails this test, so it cannot be
added without saying how its personal data is accounted for.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from audit.models import AuditEvent
from cases.models import Case, RoutingRule
from cases.services import findings_ingest_all
from privacy.policy import DataCategory, decide
from tests.verification.conftest import employer, i9, load_ref, person, ssa  # noqa: F401
from verification import services

pytestmark = pytest.mark.django_db

PERSONAS = ["alice", "bob", "sam", "adam", "audrey", "vera", "sally", "petra", "eddie"]
DOB = date(1979, 11, 23)
SSN = "567-89-0123"  # Numident has Nadia Haddad under this SSN, another date of birth: a finding
A_NUMBER = "A098765432"
WORKER = ("Nadia", "Haddad")

# Routes with a parameter that show no one's record (configuration, the directory, machinery).
NO_PERSON = {
    "invitation-accept": "an invitation token",
    "password_reset_confirm": "a reset token",
    "audit:event": "one audit event: covered by the audit browser tests",
    "audit:timeline": "one user's activity: staff, not workers",
    "privacy:agency-edit": "the directory",
    "privacy:unit-edit": "the directory",
    "privacy:user-detail": "staff",
    "privacy:user-edit": "staff",
    "privacy:user-deactivate": "staff (POST)",
    "privacy:user-reactivate": "staff (POST)",
    "privacy:grant-create": "staff (POST)",
    "privacy:grant-revoke": "staff (POST)",
    "privacy:agreement-detail": "an agreement",
    "privacy:agreement-edit": "an agreement",
    "privacy:agreement-document": "an agreement's document (POST)",
    "privacy:agreement-document-download": "an agreement's document",
    "privacy:agreement-transition": "an agreement (POST)",
    "privacy:campaign-detail": "grants under recertification",
    "privacy:recertification-decide": "a grant (POST)",
    "privacy:subject-request-detail": "a Privacy Act request: covered by the privacy tests",
    "privacy:subject-request-respond": "a Privacy Act request (POST)",
    "privacy:subject-request-step": "a Privacy Act request (POST)",
    "privacy:hold-release": "a legal hold (POST)",
    "privacy:purge-detail": "counts of a purge",
    "privacy:purge-approve": "a purge (POST)",
    "privacy:break-glass-review": "a break-glass grant (POST)",
    "privacy:notification-read": "a notification (POST)",
    "sso-start": "an agency's identity provider (a redirect to it)",
    "mail-unsubscribe": "a signed unsubscribe link: staff e-mail settings",
    "privacy:sso-provider": "an agency's identity provider",
    "privacy:sso-mapping-add": "a claim-to-unit mapping (POST)",
    "privacy:sso-mapping-delete": "a claim-to-unit mapping (POST)",
    "privacy:access-request-decide": "a staff request for roles (POST)",
    "cases:view-delete": "a saved view (POST)",
    "cases:action": "a workflow step (POST)",
    "cases:evidence-upload": "an upload (POST)",
    "cases:evidence-download": "a file: covered by the evidence tests",
    "cases:task-done": "a task (POST)",
    "verification:case-resolve": "a transition (POST)",
    "verification:case-contact": "a transition (POST)",
    "verification:case-reveal": "the audited reveal (POST): covered by the reveal tests",
    "verification:case-notice": "a worker's notice (PDF): covered by tests/verification/test_notices.py",
    "verification:employer-detail": "an employer",
    "verification:site-new": "an employer (POST)",
    "verification:apikey-new": "an employer (POST)",
    "verification:apikey-rotate": "an API key (POST)",
    "verification:apikey-revoke": "an API key (POST)",
    "verification:webhook-rotate": "a webhook subscription (POST)",
    "verification:webhook-delete": "a webhook subscription (POST)",
    "verification:webhook-allowance-remove": "a host allowance (POST)",
    "verification:webhook-delivery": "a webhook delivery: case number and status only",
    "verification:webhook-replay": "a webhook delivery (POST)",
    "crossref:run-detail": "counts of a run",
    "crossref:run-progress": "counts of a run",
    "crossref:run-cancel": "a run (POST)",
    "privacy-api:agreement-detail": "an agreement",
    "api-case-detail": "the employer API: the employer's own submissions, by API key",
    "api-case-submit-draft": "the employer API (POST)",
    "api-case-notice": "the employer API (POST)",
    "api-case-notice-pdf": "the employer API: a notice to the employer's own worker, by API key",
    "api-case-decision": "the employer API (POST)",
    "api-case-refer": "the employer API (POST)",
    "api-case-close": "the employer API (POST)",
    "api-webhook-subscription": "the employer API: its own webhook subscription",
    "api-webhook-rotate": "the employer API (POST)",
    "api-webhook-ping": "the employer API (POST)",
    "api-webhook-delivery": "the employer API: a delivery holds case number and status only",
    "api-import-detail": "the employer API: an import's counts and report (line, field, message)",
    "api-case-resubmit": "the employer API (POST)",
    "verification:employer-admin-invite": "an employer (POST)",
    **dict.fromkeys(
        [
            "portal:case-list",
            "portal:case-new",
            "portal:case-detail",
            "portal:case-notice",
            "portal:case-decision",
            "portal:case-refer",
            "portal:case-close",
            "portal:case-resubmit",
            "portal:import-list",
            "portal:import-detail",
            "portal:import-choice",
            "portal:admin",
            "portal:person-invite",
            "portal:person-grant",
            "portal:person-revoke",
            "portal:key-issue",
            "portal:key-rotate",
            "portal:key-revoke",
        ],
        "the employer portal: no persona here acts for an employer (404); its people's reads are "
        "audited and tested in tests/verification/test_portal.py",
    ),
}


def _routes() -> list[tuple[str, list[str]]]:
    """(name, parameter names) of every named route of ours."""
    out: list[tuple[str, list[str]]] = []

    def walk(patterns: list[Any], namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                out.append((namespace + p.name, list(p.pattern.regex.groupindex)))

    walk(get_resolver().url_patterns, "")
    return out


@pytest.fixture
def world(employer, ssa, directory):  # noqa: F811
    case = services.case_create(
        actor=None,
        employer=employer,
        data=i9(
            first_name=WORKER[0],
            last_name=WORKER[1],
            date_of_birth=DOB,
            ssn=SSN,
            citizenship_status="permanent_resident",
            a_number=A_NUMBER,
            document_type="permanent_resident_card",
        ),
    )
    RoutingRule.objects.create(rule_family="", state="", unit=directory["unit_a"])
    findings_ingest_all()
    flagged = Case.objects.order_by("pk").last()
    assert flagged is not None, "the identity mismatch makes a flagged case"
    return {"vcase": case, "case": flagged}


# Routes with a parameter that show a person's record, and the object of the world they show.
WALKED = {"verification:case-detail": "vcase", "cases:detail": "case", "cases:notice": "case"}


def _args(name: str, world: dict[str, Any]) -> dict[str, Any] | None:
    """The object a parameterised route is walked with."""
    return {"pk": world[WALKED[name]].pk} if name in WALKED else None


def _leaks(body: str, user: Any) -> list[str]:
    probes = []
    if not decide(user, action="view", category=DataCategory.SSA_IDENTITY).allowed:
        probes += [("dob", DOB.isoformat()), ("dob", DOB.strftime("%m/%d/%Y")), ("ssn", "0123")]
    if not decide(user, action="view", category=DataCategory.DHS_IMMIGRATION).allowed:
        probes += [("a-number", "5432")]
    # A whole token, not four digits inside a hash, an id or a timestamp (the audit export is full
    # of those: "5432" turned up inside one by chance); a masked "•••5432" still counts.
    return [
        f"{kind} {value}"
        for kind, value in probes
        if re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", body)
    ]


def test_every_parameterised_route_is_classified():
    unclassified = [
        name
        for name, params in _routes()
        if params and name not in NO_PERSON and name not in WALKED
    ]
    assert unclassified == []


def _walk(client: Any, world: dict[str, Any], count: Any = lambda: 0):
    """(route name, response, body, `count()` before the request) of every GET page that
    answers 200 with HTML or CSV."""
    for name, params in _routes():
        if name.startswith(("api", "privacy-api")) or name in {"logout", "audit:verify"}:
            continue  # the employer API (keys) and state-changing GETs are covered elsewhere
        kwargs = _args(name, world) if params else {}
        if kwargs is None:
            continue
        before = count()
        response = client.get(reverse(name, kwargs=kwargs))
        if response.status_code != 200 or (
            "html" not in response.get("Content-Type", "")
            and "csv" not in response.get("Content-Type", "")
        ):
            continue
        body = (
            b"".join(response.streaming_content).decode()
            if response.streaming
            else response.content.decode()
        )
        yield name, response, body, before


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_page_shows_a_field_outside_the_readers_categories(request, login, persona, world):
    user = request.getfixturevalue(persona)
    client = login(user)
    problems = []
    events = AuditEvent.objects.filter(actor_id=user.pk).count
    for name, _response, body, before in _walk(client, world, events):
        problems += [f"{name}: {leak}" for leak in _leaks(body, user)]
        if WORKER[1] in body and not events() > before:
            problems.append(f"{name}: shows the worker without recording the read")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_cache_may_keep_a_page_that_shows_a_person(request, login, persona, world):
    client = login(request.getfixturevalue(persona))
    stored = [
        f"{name}: {response.get('Cache-Control', '(no Cache-Control)')}"
        for name, response, body, _ in _walk(client, world)
        if (WORKER[1] in body or WORKER[0] in body)
        and "no-store" not in response.get("Cache-Control", "")
    ]
    assert stored == [], "\n".join(stored)
