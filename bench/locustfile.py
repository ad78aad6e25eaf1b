"""The soak's users (issue 18 §5), for `make soak` (bench/soak.py runs locust headless on it).

Analysts sign in with their password and TOTP and triage: the queue, a case page, a note, a
disposition. Supervisors review: the dashboard, the audit browser and review queue. Employers'
systems submit verification cases over the API with their API key; each accepted case's
employer case id is written to SOAK_OUT at the end, so the runner can count what was stored.

SOAK_CONFIG names the JSON the runner's set-up wrote: the accounts with their TOTP keys, the
employer's API key, the demo password.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
from datetime import date, timedelta
from typing import Any

from django_otp.oath import totp
from locust import HttpUser, between, events, task

CONF: dict[str, Any] = json.loads(open(os.environ["SOAK_CONFIG"]).read())  # noqa: SIM115
_ACCOUNTS = {
    "analyst": itertools.cycle(CONF["analysts"]),
    "supervisor": itertools.cycle(CONF["supervisors"]),
}
_LOCK = threading.Lock()
_SUBMITTED: list[str] = []
_SERIAL = itertools.count(1)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CASE_LINK = re.compile(r'href="/cases/(\d+)/"')


def _csrf(text: str) -> str:
    found = CSRF.search(text)
    return found.group(1) if found else ""


class Staff(HttpUser):
    """A person at a browser: signs in with password and second factor."""

    abstract = True
    role = ""
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.verify = False  # loopback TLS with the soak's own self-signed certificate
        # Over HTTPS Django's CSRF check wants a same-origin Referer, as a browser sends.
        self.client.headers["Referer"] = f"{self.host}/accounts/login/"
        with _LOCK:
            self.account = next(_ACCOUNTS[self.role])
        page = self.client.get("/accounts/login/", name="sign-in page")
        page = self.client.post(
            "/accounts/login/",
            {
                "username": self.account["username"],
                "password": CONF["password"],
                "csrfmiddlewaretoken": _csrf(page.text),
            },
            name="sign-in",
        )
        code = totp(bytes.fromhex(self.account["totp_key"]))
        self.client.post(
            page.url,
            {"token": f"{code:06d}", "csrfmiddlewaretoken": _csrf(page.text)},
            name="sign-in 2fa",
        )


class Analyst(Staff):
    """Triage: the queue, a case, a note, now and then a disposition."""

    role = "analyst"
    weight = 6

    def on_start(self) -> None:
        super().on_start()
        self.cases: list[str] = []

    @task(4)
    def queue(self) -> None:
        page = self.client.get("/cases/", name="analyst: queue")
        self.cases = CASE_LINK.findall(page.text) or self.cases

    @task(4)
    def case_page(self) -> None:
        if self.cases:
            self.client.get(f"/cases/{random.choice(self.cases)}/", name="analyst: case page")

    @task(2)
    def note(self) -> None:
        if not self.cases:
            return
        pk = random.choice(self.cases)
        page = self.client.get(f"/cases/{pk}/", name="analyst: case page")
        self.client.post(
            f"/cases/{pk}/do/note/",
            {"body": "Soak: checked the submitted names.", "csrfmiddlewaretoken": _csrf(page.text)},
            name="analyst: note",
        )

    @task(1)
    def dismiss(self) -> None:
        if not self.cases:
            return
        pk = self.cases.pop(random.randrange(len(self.cases)))
        page = self.client.get(f"/cases/{pk}/", name="analyst: case page")
        self.client.post(
            f"/cases/{pk}/do/dismiss/",
            {"reason": "other", "note": "Soak", "csrfmiddlewaretoken": _csrf(page.text)},
            name="analyst: disposition",
        )


class Supervisor(Staff):
    """Review: the dashboard, the audit trail and the review queue."""

    role = "supervisor"
    weight = 2

    @task(2)
    def dashboard(self) -> None:
        self.client.get("/cases/dashboard/", name="supervisor: dashboard")

    @task(2)
    def audit(self) -> None:
        self.client.get("/audit/", name="supervisor: audit trail")

    @task(1)
    def review(self) -> None:
        self.client.get("/audit/review/", name="supervisor: review queue")


class Employer(HttpUser):
    """An employer's system: submits I-9 cases over the API with its key."""

    weight = 2
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.verify = False  # loopback TLS with the soak's own self-signed certificate

    @task
    def submit(self) -> None:
        n = next(_SERIAL)
        today = date.today()
        ecid = f"SOAK-{CONF['tag']}-{n:07d}"
        # Distinct valid SSNs (area 100-665, group and serial never zero), one per submission.
        ssn = f"{100 + n % 500:03d}-{10 + (n // 500) % 89:02d}-{1000 + (n // 44500) % 8999:04d}"
        body = {
            "first_name": random.choice(["Maria", "Ana", "Li", "John", "Amara"]),
            "last_name": random.choice(["Garcia Lopez", "Wei", "Smith", "Okafor"]),
            "middle_initial": "",
            "other_last_names": "",
            "date_of_birth": (date(1970, 1, 1) + timedelta(days=n % 12000)).isoformat(),
            "ssn": ssn,
            "citizenship_status": "citizen",
            "document_type": "us_passport",
            "document_number": f"X{n:07d}",
            "document_expires_on": (today + timedelta(days=900)).isoformat(),
            "offer_accepted_on": (today - timedelta(days=5)).isoformat(),
            "i9_completed_on": (today - timedelta(days=1)).isoformat(),
            "hire_date": today.isoformat(),
            "employee_email": "",
            "employer_case_id": ecid,
        }
        with self.client.post(
            "/api/v1/cases/",
            json=body,
            headers={"Authorization": f"Bearer {CONF['api_key']}", "Idempotency-Key": ecid},
            name="employer: submit case",
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                with _LOCK:
                    _SUBMITTED.append(ecid)
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")


@events.test_stop.add_listener
def _write_submitted(**_: Any) -> None:
    with open(os.environ["SOAK_OUT"], "w") as fh:
        json.dump(_SUBMITTED, fh)
