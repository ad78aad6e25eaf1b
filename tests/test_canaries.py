"""Canaries: full identifiers never leak, wherever the data goes (issue 18, section 4).

One person with canary identifiers (tests/canaries.py) goes through everything: reference loads,
the employer API's submit (and its 400s), a cross-reference run on a real worker with the
findings' ingest, triage in the browser screens (queue, person search, case page, a note and a
dismissal that name the identifiers, the dashboard), the CSV export, the employer's referral over
the API, a USCIS verifier's reveal, error pages (400 and 404) with the identifiers in the request,
and a signed checkpoint. Then the scanner looks for the full values in every log line, every
Redis command of the run (kombu bodies decoded), every page and answer, every e-mail, every
text column of the database but its ciphertexts, blind indexes and HMACs, and the checkpoint
files: 0 hits. Each channel's scan is first shown to find a canary put there on purpose.

The date of birth is in clear by design (DESIGN.md: names and dates of birth stay in clear for
matching, behind access control): the pages and the data tables that show or hold it to an
authorized reader are not scanned for it. It must still never reach a log line, a Celery
message, an e-mail, an error page, the audit trail or the checkpoint files.
"""

from __future__ import annotations

import logging
import logging.config
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from rest_framework.test import APIClient

from audit import services_admin
from cases.models import Case, CaseNote
from cases.services import findings_ingest_all
from config.celery import app as celery_app
from crossref import services as crossref_services
from crossref.models import Finding, Run, RunStatus
from privacy.models import Agreement, Role, RoleGrant
from tests import canaries
from tests.canaries import A_NUMBER, DOB, PASSPORT, SSN
from tests.cases.conftest import routing as routing_fixture  # noqa: F401
from tests.crossref.conftest import matcher as matcher_fixture  # noqa: F401
from tests.databases import db_url
from tests.verification.conftest import load_ref as load_ref_fixture  # noqa: F401
from tests.workers import celery_worker, stop_worker, wait_until

IDS = ("ssn", "a_number", "passport")  # what no page may show in full (the reveal aside)
TODAY = date.today()

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Pages:
    """Every response body the test received, by label."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str, int]] = []

    def __call__(self, label: str, response: Any, status: int | tuple[int, ...] = 200) -> str:
        content = (
            b"".join(response.streaming_content)
            if getattr(response, "streaming", False)
            else response.content
        )
        text = content.decode("utf-8", "replace")
        self.bodies.append((label, text, response.status_code))
        wanted = status if isinstance(status, tuple) else (status,)
        assert response.status_code in wanted, f"{label}: {response.status_code} {text[:400]}"
        return text


class Logs(logging.Handler):
    """Every log record of this process, formatted as the console handler writes it."""

    def __init__(self, formatter: logging.Formatter, filters: list[Any]) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        for f in filters:
            self.addFilter(f)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs():
    """A handler on the root logger and on every logger that does not propagate, as configured."""
    logging.config.dictConfig(django_settings.LOGGING)
    console = next(h for h in logging.getLogger().handlers if h.formatter is not None)
    handler = Logs(console.formatter, console.filters)
    loggers = [logging.getLogger()] + [
        logging.getLogger(name)
        for name in [
            *logging.root.manager.loggerDict,
            "celery",
            "gunicorn.access",
            "gunicorn.error",
        ]
        if not logging.getLogger(name).propagate
    ]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture
def monitor(tmp_path):
    """`redis-cli MONITOR` on the test Redis for the whole test: every command, as Redis ran it."""
    url = urlsplit(django_settings.REDIS_URL)
    out = tmp_path / "redis-monitor.txt"
    with out.open("w") as fh:
        proc = subprocess.Popen(
            [
                "redis-cli",
                "-h",
                url.hostname or "127.0.0.1",
                "-p",
                str(url.port or 6379),
                "MONITOR",
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    time.sleep(0.3)
    db = int((url.path or "/0").strip("/") or 0)
    yield out, db, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(5)


def seed_references(load_ref):
    """SSA knows the person; USCIS's record of the A-Number has another birth date (a DHS TNC);
    the enforcement database holds a subject sharing the passport."""
    load_ref(
        "ssa",
        [
            {
                "ssn": SSN,
                "first_name": "Odalys",
                "last_name": "Brennwald",
                "date_of_birth": DOB,
                "citizenship": "alien_authorized",
                "locked": "false",
            }
        ],
    )
    load_ref(
        "dhs",
        [
            {
                "a_number": A_NUMBER,
                "passport": PASSPORT,
                "passport_country": "DEU",
                "first_name": "Odalys",
                "last_name": "Brennwald",
                "date_of_birth": "1971-05-02",
                "class_of_admission": "IR1",
                "work_authorized_from": "2010-01-01",
            }
        ],
    )
    load_ref(
        "enforcement",
        [
            {
                "subject_ref": "ENF-CANARY-1",
                "first_name": "Odalys",
                "last_name": "Brennwald",
                "date_of_birth": DOB,
                "documents": f"passport:{PASSPORT}|a_number:{A_NUMBER}",
                "status": "active",
            }
        ],
    )


def submit_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "first_name": "Odalys",
        "last_name": "Brennwald",
        "date_of_birth": DOB,
        "ssn": SSN,
        "citizenship_status": "permanent_resident",
        "a_number": A_NUMBER,
        "passport": PASSPORT,
        "passport_country": "DEU",
        "document_type": "foreign_passport_i551",
        "document_number": PASSPORT,
        "document_expires_on": (TODAY + timedelta(days=700)).isoformat(),
        "offer_accepted_on": (TODAY - timedelta(days=6)).isoformat(),
        "i9_completed_on": (TODAY - timedelta(days=1)).isoformat(),
        "hire_date": TODAY.isoformat(),
    }
    body.update(overrides)
    return body


def grant_alice_the_agreements(alice) -> None:
    for agreement in Agreement.objects.filter(reference__in=["cma-ssa", "cma-uscis"]):
        RoleGrant.objects.create(
            user=alice,
            role=Role.ANALYST,
            agreement=agreement,
            valid_from=TODAY - timedelta(days=30),
        )


def test_canary_identifiers_never_leak(
    tmp_path,
    settings,
    logs,
    monitor,
    request,
    alice,
    vera,
    api_key,
    login,
):
    request.getfixturevalue("routing_fixture")  # flagged cases go to alice's unit
    matcher = request.getfixturevalue("matcher_fixture")
    load_ref = request.getfixturevalue("load_ref_fixture")
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "audit" / "checkpoints.jsonl")
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(tmp_path / "audit" / "checkpoint-key.pem")
    settings.AUDIT_CHECKPOINT_KEY_CREATE = True
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
    monitor_file, redis_db, monitor_proc = monitor
    pages = Pages()
    worker_log = tmp_path / "worker.log"
    worker = celery_worker(
        "batch,interactive",
        "canary",
        {
            "CROSSCHECK_AUDIT_CHECKPOINT_PATH": settings.AUDIT_CHECKPOINT_PATH,
            "CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE": settings.AUDIT_CHECKPOINT_KEY_FILE,
        },
        log=worker_log,
        loglevel="INFO",
    )
    try:
        # --- Reference loads and the employer's submit ------------------------------------------
        seed_references(load_ref)
        employer_api = APIClient()
        employer_api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw}")
        created = employer_api.post(
            "/api/v1/cases/", submit_body(), format="json", HTTP_IDEMPOTENCY_KEY="canary-1"
        )
        vcase = pages("api submit", created, 201)
        vcase_id = created.json()["id"]
        assert "4826" in vcase  # the masked SSN is there
        # A 400: the SSN typed into the wrong fields, and a bad date next to it.
        pages(
            "api 400",
            employer_api.post(
                "/api/v1/cases/",
                submit_body(
                    citizenship_status=SSN,
                    first_name=A_NUMBER,
                    date_of_birth=f"{DOB}x",
                    passport_country=PASSPORT,
                ),
                format="json",
                HTTP_IDEMPOTENCY_KEY="canary-2",
            ),
            400,
        )
        pages("api 404", employer_api.get(f"/api/v1/cases/{SSN}/?a_number={A_NUMBER}"), 404)

        # --- A cross-reference run on the real worker, and the ingest of its findings -----------
        run = crossref_services.run_start(actor=matcher, ssn_partitions=2)
        wait_until(lambda: Run.objects.get(pk=run.pk).status != RunStatus.RUNNING, 120, "the run")
        assert Run.objects.get(pk=run.pk).status == RunStatus.DONE
        assert Finding.objects.filter(case_id=vcase_id).exists()
        wait_until(lambda: Case.objects.exists(), 60, "the ingest task")
        findings_ingest_all()
        case = Case.objects.filter(case_findings__finding__case_id=vcase_id).distinct().get()

        # --- Triage in the screens ---------------------------------------------------------------
        grant_alice_the_agreements(alice)
        analyst = login(alice)
        pages("queue", analyst.get("/cases/"))
        pages("queue search", analyst.get("/cases/", {"q": "Brennwald"}))
        pages(
            "queue 400",
            analyst.get(
                "/cases/", {"after": SSN, "age_min": "99999999999999999999", "q": f"{SSN}\x00"}
            ),
            (200, 400),
        )
        pages(
            "search",
            analyst.post(
                "/cases/search/", {"purpose_case": case.pk, "kind": "ssn", "identifier": SSN}
            ),
        )
        pages(
            "search a-number",
            analyst.post(
                "/cases/search/",
                {"purpose_case": case.pk, "kind": "a_number", "identifier": A_NUMBER},
            ),
        )
        pages(
            "search 400",
            analyst.post(
                "/cases/search/", {"purpose_case": SSN, "kind": A_NUMBER, "identifier": PASSPORT}
            ),
            (200, 400),
        )
        pages("case page", analyst.get(f"/cases/{case.pk}/"))
        # A note or a dismissal that names a full identifier is refused with the reason; one
        # without is kept.
        for label, body in [("SSN", SSN), ("A-Number", A_NUMBER), ("passport", PASSPORT)]:
            refused = pages(
                f"note with the {label}",
                analyst.post(
                    f"/cases/{case.pk}/do/note/",
                    {"body": f"Caller read the {label} {body} off the card."},
                    follow=True,
                ),
            )
            assert "Remove the full identifier" in refused
        pages(
            "note",
            analyst.post(
                f"/cases/{case.pk}/do/note/",
                {"body": "Caller confirmed the card's last four, 4826, by phone."},
                follow=True,
            ),
        )
        assert CaseNote.objects.filter(case=case).count() == 1
        pages("dashboard", analyst.get("/cases/dashboard/"))
        pages("export", analyst.get("/cases/export.csv"))
        refused = pages(
            "dismiss with the SSN",
            analyst.post(
                f"/cases/{case.pk}/do/dismiss/",
                {"reason": "clerical", "note": f"Keying slip: {SSN} / {PASSPORT}"},
                follow=True,
            ),
        )
        assert "Remove the full identifier" in refused
        pages(
            "dismiss",
            analyst.post(
                f"/cases/{case.pk}/do/dismiss/",
                {"reason": "clerical", "note": "Keying slip at the employer."},
                follow=True,
            ),
        )
        assert Case.objects.get(pk=case.pk).is_closed
        pages("case page after", analyst.get(f"/cases/{case.pk}/"))
        pages("404 in a path", analyst.get(f"/cases/{SSN.replace('-', '')}/"), 404)
        pages(
            "404 unknown",
            analyst.get(f"/nowhere/{SSN}/", {"a": A_NUMBER, "p": PASSPORT, "dob": DOB}),
            404,
        )

        # --- The employer refers the TNC; a USCIS verifier reveals the A-Number ----------------
        url = f"/api/v1/cases/{vcase_id}"
        pages("api notice", employer_api.post(f"{url}/notice/", {}, format="json"))
        pages(
            "api decision",
            employer_api.post(f"{url}/decision/", {"decision": "take_action"}, format="json"),
        )
        pages("api refer", employer_api.post(f"{url}/refer/", format="json"))
        verifier = login(vera)
        pages("verification page", verifier.get(f"/verification/cases/{vcase_id}/"))
        revealed = verifier.post(
            f"/verification/cases/{vcase_id}/reveal/",
            {"field": "a_number", "reason": "Caller verification for the referral"},
        )
        revealed_page = revealed.content.decode()
        assert revealed.status_code == 200, revealed_page[:400]
        services_admin.checkpoint_record()
        # Control for the Redis capture: a Celery message that carries a canary, on a queue of
        # its own that nothing consumes.
        celery_app.send_task("canary.control", args=[SSN], queue="canary-control")
        time.sleep(0.5)
    finally:
        stop_worker(worker)
        time.sleep(0.3)
        monitor_proc.terminate()
        monitor_proc.wait(5)
        redis.Redis.from_url(django_settings.REDIS_URL).delete("canary-control")

    # --- Controls: each scan finds a canary put where it looks ------------------------------------
    # The reveal is the one answer that shows a full identifier, by design, to a verifier who gave
    # a reason: the page scan sees it there.
    assert canaries.find(revealed_page, "reveal", ["a_number"])
    # (the log filter redacts SSN-shaped runs itself: the passport goes through to the capture)
    logging.getLogger("crosscheck.canary_control").warning("control %s", PASSPORT)
    assert canaries.find("\n".join(logs.lines), "logs", ["passport"])
    logs.lines = [ln for ln in logs.lines if "canary_control" not in ln]
    commands, messages = canaries.redis_commands(monitor_file.read_text(errors="replace"), redis_db)
    control = [c for c in commands if "canary-control" in c[0]]
    assert canaries.find("\n".join(x for c in control for x in c), "redis", ["ssn"])
    commands = [c for c in commands if "canary-control" not in c[0]]
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE canary_control (note text)")
        cur.execute("INSERT INTO canary_control VALUES (%s)", [f"control {SSN}"])
    dsn = db_url(connection.settings_dict["NAME"])
    found, _ = canaries.database_hits(dsn, ["ssn"])
    assert "canary_control.note" in [h.where for h in found]
    with connection.cursor() as cur:
        cur.execute("DROP TABLE canary_control")
    checkpoints_dir = Path(settings.AUDIT_CHECKPOINT_PATH).parent
    (checkpoints_dir / "control.txt").write_text(SSN)
    assert canaries.file_hits(checkpoints_dir, ["ssn"])[0]
    (checkpoints_dir / "control.txt").unlink()

    # --- The scans -------------------------------------------------------------------------------
    hits: list[canaries.Hit] = []
    hits += canaries.find("\n".join(logs.lines), "the test process's log lines")
    worker_lines = worker_log.read_text(errors="replace")
    assert "crossref.tasks" in worker_lines  # the worker's own log was captured
    hits += canaries.find(worker_lines, "the worker's log")
    hits += canaries.find("\n".join(x for c in commands for x in c), "Redis (Celery messages)")
    for label, text, status in pages.bodies:
        kinds = canaries.FORMS if status >= 400 else IDS
        hits += canaries.find(text, f"page '{label}' ({status})", kinds)
    for message in mail.outbox:
        hits += canaries.find(f"{message.subject}\n{message.body}", f"mail to {message.to}")
    db_hits, columns = canaries.database_hits(dsn, IDS)
    hits += db_hits
    audit_hits, _ = canaries.database_hits(dsn, ["dob"], tables=r"^audit_")
    hits += audit_hits
    # Sessions are stored signed and compressed: decoded before the scan.
    sessions = [SessionStore().decode(s.session_data) for s in Session.objects.all()]
    assert sessions
    hits += canaries.find(canaries.as_text(sessions), "the sessions (decoded)")
    file_found, files = canaries.file_hits(checkpoints_dir)
    hits += file_found
    print(  # noqa: T201 - the figures of the scan, shown with -s
        f"canaries: {len(logs.lines)} log lines, {len(worker_lines.splitlines())} worker log lines, "
        f"{len(commands)} Redis commands ({messages} Celery messages), {len(pages.bodies)} pages, "
        f"{len(mail.outbox)} mails, {columns} text columns, {files} checkpoint files: {len(hits)} hits"
    )
    assert not hits, canaries.describe(hits)
    assert len(commands) > 20
    assert messages >= 3
    assert columns > 50
    assert files >= 2  # the checkpoint file and its key
