"""The employer portal, through its screens, as its people and as an attacker would use it.

Personas: erin administers Acme (invited by adam, the admin); ulla is an Acme user erin
invited; gus is an agent acting for Acme and Other Co; oscar administers Other Co.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.core import mail

from audit.models import AuditEvent
from tests.conftest import sign_in
from tests.verification.conftest import i9, invited
from tests.verification.test_import import csv_bytes, people
from verification import services
from verification.imports.jobs import import_run
from verification.models import EmployerAccess, ImportJob, VerificationCase
from verification.services import portal

pytestmark = pytest.mark.django_db
TODAY = date.today()


@pytest.fixture
def oscar(adam, other_employer):
    return invited(adam, other_employer, "oscar", "o@other.test", "Oscar O", admin=True)


@pytest.fixture
def gus(erin, oscar, employer, other_employer):
    agent = invited(oscar, other_employer, "gus", "gus@agent.test", "Gus Agent")
    portal.employer_access_grant(actor=erin, employer=employer, username="gus")
    return agent


def form_body(**overrides: Any) -> dict[str, str]:
    data = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in i9(**overrides).items()}
    return {k: ("" if v is None else str(v)) for k, v in data.items()}


def test_an_admin_invites_an_employer_administrator_who_belongs_to_no_agency(adam, employer, login):
    response = login(adam).post(
        f"/verification/employers/{employer.pk}/invite-admin/",
        {"username": "erin", "first_name": "Erin", "last_name": "Acme", "email": "erin@acme.test"},
    )
    assert response.status_code == 302
    access = EmployerAccess.objects.get(user__username="erin")
    assert access.employer == employer
    assert access.role == "administrator"
    assert access.user.agency_id is None
    assert access.user.roles == ["employer_admin"]
    assert AuditEvent.objects.filter(
        action="employer.access_granted", object_id=str(access.pk)
    ).exists()


def test_only_the_employers_administrator_gives_access_to_it(erin, oscar, employer):
    with pytest.raises(Exception, match="administrator"):
        portal.employer_user_invite(
            actor=oscar,
            employer=employer,
            username="mallory",
            email="m@x.test",
            first_name="M",
            last_name="X",
        )
    assert not EmployerAccess.objects.filter(user__username="mallory").exists()


def test_agency_staff_cannot_be_made_an_agent(erin, employer, alice):
    with pytest.raises(Exception, match="portal user"):
        portal.employer_access_grant(actor=erin, employer=employer, username=alice.username)


def test_a_case_created_on_the_screen_shows_its_instant_result_and_next_step(
    ulla, employer, ssa, login
):
    client = login(ulla)
    response = client.post(
        f"/employer/{employer.pk}/cases/new/",
        {**form_body(first_name="John", last_name="Smith"), "form_token": "t1"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = VerificationCase.objects.get(employer=employer)
    page = client.get(response["Location"]).content.decode()
    assert "Tentative Nonconfirmation" in page
    assert "Further Action Notice due" in page
    assert "SSA: firstname" in page  # which source and field disagreed
    assert "Maria" not in page  # the reference record's name is never shown to an employer
    again = client.post(
        f"/employer/{employer.pk}/cases/new/",
        {**form_body(first_name="John", last_name="Smith"), "form_token": "t1"},
    )
    assert again.status_code == 302
    assert VerificationCase.objects.count() == 1
    assert case.status == "tentative_nonconfirmation"


def test_the_case_form_answers_with_the_apis_messages(ulla, employer, ssa, login, api_client_for):
    bad = form_body(ssn="900-12-3456", date_of_birth="31/12/1990", citizenship_status="martian")
    client = login(ulla)
    page = client.post(f"/employer/{employer.pk}/cases/new/", bad)
    assert page.status_code == 400
    api = api_client_for(employer).post(
        "/api/v1/cases/", bad, format="json", HTTP_IDEMPOTENCY_KEY="x"
    )
    fields = api.json()["error"]["fields"]
    text = page.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    for field in ("date_of_birth", "citizenship_status"):
        for message in fields[field]:
            assert message in text
    service_error = client.post(f"/employer/{employer.pk}/cases/new/", form_body(ssn="900-12-3456"))
    assert "This is not a valid SSN area number" in service_error.content.decode()
    assert not VerificationCase.objects.exists()


def test_the_worker_decides_the_case_is_referred_and_the_clock_is_shown_in_working_days(
    ulla, employer, ssa, login
):
    case = services.case_create(
        actor=None, employer=employer, data=i9(first_name="John", last_name="Smith")
    )
    client = login(ulla)
    base = f"/employer/{employer.pk}/cases/{case.pk}"
    assert client.post(f"{base}/notice/", {"issued_on": ""}).status_code == 302
    assert client.post(f"{base}/decision/", {"decision": "take_action"}).status_code == 302
    assert client.post(f"{base}/refer/").status_code == 302
    case.refresh_from_db()
    assert case.status == "referred"
    assert case.contact_due_on > TODAY
    page = client.get(f"{base}/").content.decode()
    assert "Worker must contact by" in page
    assert "federal working day" in page
    actions = list(
        AuditEvent.objects.filter(object_id=str(case.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert {"vcase.fan_issued", "vcase.decision_recorded", "vcase.referred", "vcase.viewed"} <= set(
        actions
    )


def test_a_closure_needs_a_code_the_status_allows(ulla, employer, ssa, login):
    case = services.case_create(
        actor=None, employer=employer, data=i9(first_name="John", last_name="Smith")
    )
    client = login(ulla)
    wrong = client.post(
        f"/employer/{employer.pk}/cases/{case.pk}/close/", {"code": "terminated_after_fnc"}
    )
    assert wrong.status_code == 400
    ok = client.post(f"/employer/{employer.pk}/cases/{case.pk}/close/", {"code": "not_hired"})
    assert ok.status_code == 302
    case.refresh_from_db()
    assert case.closure_code == "not_hired"


def test_close_and_resubmit_links_the_new_case_to_the_old(ulla, employer, ssa, login):
    old = services.case_create(
        actor=None, employer=employer, data=i9(first_name="John", last_name="Smith")
    )
    client = login(ulla)
    form = client.get(f"/employer/{employer.pk}/cases/{old.pk}/resubmit/")
    assert form.status_code == 200
    assert 'value="John"' in form.content.decode()
    response = client.post(f"/employer/{employer.pk}/cases/{old.pk}/resubmit/", form_body())
    assert response.status_code == 302, response.content.decode()[:1500]
    new = VerificationCase.objects.exclude(pk=old.pk).get()
    old.refresh_from_db()
    assert new.resubmission_of_id == old.pk
    assert old.closure_code == "info_not_correct"
    assert new.status == "closed"
    assert new.result == "employment_authorized"


def test_the_list_puts_the_cases_needing_action_first(ulla, employer, ssa, login):
    authorized = services.case_create(actor=None, employer=employer, data=i9())  # closed at once
    mismatch = services.case_create(
        actor=None,
        employer=employer,
        data=i9(first_name="John", last_name="Smith", duplicate_reason="rehire"),
    )
    page = login(ulla).get(f"/employer/{employer.pk}/cases/").content.decode()
    assert page.index(f">{mismatch.pk}<") < page.index(f">{authorized.pk}<")
    assert "your action" in page


# --- An attacker's view ----------------------------------------------------------------------------


def test_another_employers_cases_imports_and_screens_are_404_to_an_employer_user(
    ulla, oscar, employer, other_employer, ssa, login
):
    theirs = services.case_create(actor=None, employer=other_employer, data=i9())
    job = ImportJob.objects.create(
        employer=other_employer,
        channel="api",
        file_name="x.csv",
        file_sha256="",
        file_format="csv",
        mode="good_rows",
    )
    client = login(ulla)
    for url in (
        f"/employer/{other_employer.pk}/cases/",
        f"/employer/{other_employer.pk}/cases/{theirs.pk}/",
        f"/employer/{employer.pk}/cases/{theirs.pk}/",  # their case under my employer's path
        f"/employer/{employer.pk}/cases/{theirs.pk}/resubmit/",
        f"/employer/{employer.pk}/imports/{job.pk}/",
        f"/employer/{other_employer.pk}/imports/",
        f"/employer/{employer.pk}/cases/99999999999999999999999/",
        f"/employer/{employer.pk}/cases/-1/",
        f"/employer/{employer.pk}/admin/",  # ulla is no administrator
        "/employer/abc/cases/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/employer/{employer.pk}/cases/{theirs.pk}/close/",
        f"/employer/{employer.pk}/cases/{theirs.pk}/refer/",
        f"/employer/{other_employer.pk}/cases/new/",
    ):
        assert client.post(url, {"code": "not_hired"}).status_code == 404, url
    theirs.refresh_from_db()
    assert theirs.closure_code == "ea_automatic"


def test_an_employer_user_reaches_no_reference_record_nor_analyst_screen(
    ulla, employer, ssa, login
):
    case = services.case_create(actor=None, employer=employer, data=i9())
    client = login(ulla)
    for url in (
        "/verification/cases/",
        f"/verification/cases/{case.pk}/",
        "/verification/employers/",
        "/cases/queue/",
        "/cases/search/",
        "/crossref/runs/",
        "/audit/",
        "/privacy/users/",
        "/api/v1/cases/",
    ):
        assert client.get(url).status_code in (302, 401, 403, 404), url
    page = client.get("/").content.decode()
    assert "Employer portal" in page
    assert "Triage queue" not in page


def test_an_agent_acts_for_each_of_their_employers_and_nothing_else(
    gus, employer, other_employer, ssa, login
):
    mine = services.case_create(actor=None, employer=employer, data=i9())
    client = login(gus)
    home = client.get("/employer/")
    assert home.status_code == 200
    assert "Acme Farms" in home.content.decode()
    assert "Other Co" in home.content.decode()
    assert client.get(f"/employer/{employer.pk}/cases/{mine.pk}/").status_code == 200
    assert client.get(f"/employer/{other_employer.pk}/cases/{mine.pk}/").status_code == 404


def test_revoked_access_cuts_the_portal_at_the_next_request(erin, ulla, employer, login):
    client = login(ulla)
    assert client.get(f"/employer/{employer.pk}/cases/").status_code == 200
    access = EmployerAccess.objects.get(user=ulla)
    response = login(erin).post(f"/employer/{employer.pk}/admin/access/{access.pk}/revoke/")
    assert response.status_code == 302
    assert client.get(f"/employer/{employer.pk}/cases/").status_code == 404
    assert AuditEvent.objects.filter(action="employer.access_revoked").exists()


def test_the_employers_administrator_creates_rotates_and_revokes_scoped_keys(erin, employer, login):
    client = login(erin)
    page = client.post(
        f"/employer/{employer.pk}/admin/keys/",
        {"label": "payroll", "valid_days": "30", "scopes": ["read"], "rate_per_minute": "5"},
    )
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    raw = re.search(r"ccv1_[A-Za-z0-9_-]+", page.content.decode()).group(0)
    key = employer.api_keys.get()
    assert key.scopes == ["read"]
    assert key.rate == 5
    assert raw not in client.get(f"/employer/{employer.pk}/admin/").content.decode()  # shown once
    rotated = client.post(f"/employer/{employer.pk}/admin/keys/{key.pk}/rotate/")
    assert rotated.status_code == 200
    new = employer.api_keys.exclude(pk=key.pk).get()
    assert new.scopes == ["read"]
    assert new.replaces_id == key.pk
    assert client.post(f"/employer/{employer.pk}/admin/keys/{new.pk}/revoke/").status_code == 302
    new.refresh_from_db()
    assert new.revoked_at is not None


def test_an_administrator_cannot_touch_another_employers_keys(erin, oscar, other_employer, login):
    _, _ = services.apikey_issue(actor=oscar, employer=other_employer, label="theirs")
    theirs = other_employer.api_keys.get()
    client = login(erin)
    assert (
        client.post(f"/employer/{other_employer.pk}/admin/keys/{theirs.pk}/revoke/").status_code
        == 404
    )
    employer_id = EmployerAccess.objects.get(user=erin).employer_id
    assert client.post(f"/employer/{employer_id}/admin/keys/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_an_upload_shows_progress_the_report_and_the_choice(ulla, employer, ssa, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(ulla)
    response = client.post(
        f"/employer/{employer.pk}/imports/",
        {"file": SimpleUploadedFile("hires.csv", csv_bytes(people()), "text/csv"), "mode": "ask"},
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    polling = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in polling
    assert "<progress" in polling
    import_run(job_id=job.pk)
    page = client.get(response["Location"]).content.decode()
    assert "1 bad row" in page
    assert "This is not a valid SSN area number" in page
    assert (
        "hx-trigger"
        not in client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    )
    client.post(f"/employer/{employer.pk}/imports/{job.pk}/choice/", {"choice": "good_rows"})
    job = import_run(job_id=job.pk)
    assert job.status == "done"
    assert VerificationCase.objects.filter(employer=employer).count() == 5


def test_an_invitation_goes_out_by_mail(erin, employer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        portal.employer_user_invite(
            actor=erin,
            employer=employer,
            username="newbie",
            email="n@acme.test",
            first_name="N",
            last_name="B",
        )
    assert any("/accounts/invitation/" in m.body for m in mail.outbox)


def test_sign_in_works_for_an_employer_user(ulla):
    from django.test import Client

    response = sign_in(Client(), ulla).get("/employer/")
    assert response.status_code == 302
    assert response["Location"].endswith("/cases/")


def test_the_case_list_costs_the_same_queries_for_3_cases_or_12(ulla, employer, ssa, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(ulla)
    counts = []
    for extra in (3, 9):
        for _ in range(extra):
            services.case_create(actor=None, employer=employer, data=i9(duplicate_reason="rehire"))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/employer/{employer.pk}/cases/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_make_runs_demo_world_gives_the_first_employer_an_administrator(adam, employer, capsys):
    from synthetic.management.commands.demo_world import Command

    Command()._employer_admin("adam")
    access = EmployerAccess.objects.get(user__username="emma")
    assert access.employer == employer
    assert access.role == "administrator"
    assert access.user.check_password("crosscheck-demo-2026")
    assert "emma" in capsys.readouterr().out
