"""The API fuzzer: schemathesis over our served OpenAPI schema, as every persona and an API key.

For each operation of `/api/schema/` and each role, Hypothesis draws requests from the schema
(valid ones and, in negative mode, ones that break it) and sends them to the Django WSGI app with
that role's credentials: a signed-in, 2FA-verified session (cookie and CSRF token) for people,
`Authorization: Bearer` for the employer key, nothing for anonymous. Path ids are drawn from the
seeded objects half of the time (the key's own cases, another employer's, an agreement), so the
fuzzer reaches real rows and not only 404s.

Every response is checked:
- no 5xx (`not_a_server_error`);
- documented responses match their schema (`response_schema_conformance`), and no status is
  answered that the schema does not document (`status_code_conformance`);
- authentication is not ignored (`ignored_auth`: a 2xx with credentials is asked again without
  them and with made-up ones, and must then be refused);
- no full SSN or A-Number, of the seeded cases or of the request itself, appears in the body
  (`no_full_identifier`).

Each example runs in a savepoint that is rolled back, so one request never changes the world
the next one sees.
"""

from __future__ import annotations

import re
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import sign_in

ANONYMOUS = "anonymous"
API_KEY = "api_key"
PEOPLE = ("alice", "bob", "sam", "adam", "audrey", "vera", "sally", "petra", "eddie")
ROLES = (ANONYMOUS, *PEOPLE, API_KEY)


# --- The seeded world --------------------------------------------------------------------------


_GIVEN = ("Oriane", "Thaddeus", "Wilhelmina", "Casimir", "Philippa", "Leopold", "Rosalind")
_FAMILY = (
    "Vantongeren",
    "Abernathy",
    "Quillfeather",
    "Marchetti",
    "Oyelaran",
    "Szczepanik",
    "Delacroix",
)


def _i9(n: int, **overrides: Any) -> dict[str, Any]:
    today = date.today()
    data: dict[str, Any] = {
        "first_name": _GIVEN[n % len(_GIVEN)],
        "last_name": _FAMILY[n % len(_FAMILY)],
        "middle_initial": "",
        "other_last_names": "",
        "date_of_birth": date(1980 + n % 20, 1 + n % 12, 1 + n % 27),
        "ssn": f"52{n % 10}-6{n % 10}-{4000 + n:04d}",
        "citizenship_status": "citizen",
        "document_type": "us_passport",
        "document_number": f"X{7000000 + n}",
        "document_expires_on": today + timedelta(days=900),
        "offer_accepted_on": today - timedelta(days=5),
        "i9_completed_on": today - timedelta(days=1),
        "hire_date": today,
        "employee_email": "",
        "employer_case_id": f"FZ-{n}",
        "duplicate_reason": "rehire",
    }
    data.update(overrides)
    return data


@dataclass(frozen=True)
class Credentials:
    """What a role sends: cookies (a session and its CSRF token) and headers."""

    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    """What the fuzzer points at and what must never come back."""

    credentials: dict[str, Credentials]
    ids: dict[str, list[str]]  # path parameter name -> real ids worth trying
    identifiers: set[str]  # full SSNs and A-Numbers, in every written form


def identifier_forms(ssn: str = "", a_number: str = "") -> set[str]:
    """The ways a full identifier can be written: 521-87-4390 and 521874390; A123456789 and 123456789."""
    out: set[str] = set()
    digits = re.sub(r"\D", "", ssn)
    if len(digits) == 9:
        out |= {
            digits,
            f"{digits[:3]}-{digits[3:5]}-{digits[5:]}",
            f"{digits[:3]} {digits[3:5]} {digits[5:]}",
        }
    a_digits = re.sub(r"\D", "", a_number)
    if len(a_digits) >= 7:
        out |= {
            a_digits,
            f"A{a_digits}",
            f"A-{a_digits}",
            a_digits.zfill(9),
            f"A{a_digits.zfill(9)}",
        }
    return out


def build_world(users: dict[str, Any], directory: dict[str, Any]) -> World:
    """Employers, cases (citizens and permanent residents, submitted and drafts), keys, sessions."""
    from verification import services

    adam = users["adam"]
    mine = services.employer_enrol(
        actor=adam,
        ein="31-4159265",
        name="Fuzz Orchards",
        naics="111331",
        state="WA",
        mou_signed_on=date(2024, 2, 1),
    )
    theirs = services.employer_enrol(
        actor=adam,
        ein="27-1828182",
        name="Other Vineyards",
        naics="111332",
        state="CA",
        mou_signed_on=date(2023, 5, 1),
    )
    identifiers: set[str] = set()
    case_ids: list[str] = []
    n = 0
    for employer in (mine, theirs):
        for kind in ("citizen", "resident", "draft"):
            n += 1
            extra: dict[str, Any] = {}
            if kind == "resident":
                extra = {
                    "citizenship_status": "permanent_resident",
                    "document_type": "permanent_resident_card",
                    "a_number": f"A{200000000 + n * 7919}",
                    "document_number": f"IOE{900000000 + n}",
                }
            data = _i9(n, **extra)
            try:
                case = services.case_create(
                    actor=None, employer=employer, data=data, submit=kind != "draft"
                )
            except Exception as exc:
                raise AssertionError(getattr(exc, "field_errors", exc)) from exc
            identifiers |= identifier_forms(data["ssn"], data.get("a_number", ""))
            case_ids.append(str(case.pk))
    _, raw = services.apikey_issue(actor=adam, employer=mine, label="fuzz")
    credentials = {
        ANONYMOUS: Credentials(),
        API_KEY: Credentials(headers={"Authorization": f"Bearer {raw}"}),
    }
    for name in PEOPLE:
        client = sign_in(Client(), users[name])
        client.get("/privacy/me/")  # sets the CSRF cookie
        session = client.cookies["sessionid"].value
        csrf = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
        credentials[name] = Credentials(
            cookies={"sessionid": session, "csrftoken": csrf}, headers={"X-CSRFToken": csrf}
        )
    from privacy.models import Agreement

    agreement_ids = [str(pk) for pk in Agreement.objects.values_list("pk", flat=True)]
    return World(
        credentials=credentials,
        ids={"id": case_ids + agreement_ids},
        identifiers=identifiers,
    )


# --- The custom check --------------------------------------------------------------------------

_SENT_SSN = re.compile(r"^\d{3}-?\d{2}-?\d{4}$")
_SENT_A_NUMBER = re.compile(r"^[Aa]-?\d{7,9}$")


def _sent_identifiers(case: Any) -> set[str]:
    body = case.body if isinstance(case.body, dict) else {}
    out: set[str] = set()
    for key in ("ssn", "a_number"):
        value = body.get(key)
        if isinstance(value, str) and (_SENT_SSN.match(value) or _SENT_A_NUMBER.match(value)):
            out |= identifier_forms(**{key: value})
    return out


def no_full_identifier_check(identifiers: Iterable[str]) -> Any:
    """A schemathesis check: the body holds none of `identifiers` (nor those the request sent)."""
    known = frozenset(identifiers)

    def no_full_identifier(ctx: Any, response: Any, case: Any) -> bool | None:
        # A binary body (a notice's PDF) is searched as bytes read as Latin-1: no decoding error,
        # and an identifier written in clear in it is still found.
        text = (response.content or b"").decode("latin-1")
        leaked = sorted(
            s
            for s in known | _sent_identifiers(case)
            if re.search(rf"(?<![0-9A-Za-z]){re.escape(s)}(?![0-9])", text)
        )
        if leaked:
            raise AssertionError(
                f"full identifier in the response body: {[s[:2] + '…' + s[-2:] for s in leaked]}"
            )
        return None

    return no_full_identifier


# --- The run -----------------------------------------------------------------------------------


@dataclass
class Report:
    """Examples per (operation, role), and what failed."""

    examples: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: dict[tuple[str, str], Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    failures: list[str] = field(default_factory=list)

    def table(self, operations: list[str], roles: Iterable[str] = ROLES) -> str:
        roles = list(roles)
        width = max(len(o) for o in operations)
        head = f"{'operation':<{width}} | " + " | ".join(f"{r[:7]:>7}" for r in roles)
        lines = [head, "-" * len(head)]
        for op in operations:
            cells = [f"{self.examples[(op, r)]:>7}" for r in roles]
            lines.append(f"{op:<{width}} | " + " | ".join(cells))
        answers: Counter[int] = Counter()
        for counts in self.statuses.values():
            answers.update(counts)
        lines.append("answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())))
        covered = sum(1 for op in operations for r in roles if self.examples[(op, r)])
        lines.append(
            f"operations x roles covered: {covered} of {len(operations) * len(roles)}"
            f" ({len(operations)} operations x {len(roles)} roles); examples: "
            f"{sum(self.examples.values())}; failures: {len(self.failures)}"
        )
        return "\n".join(lines)


class _Rollback(Exception):
    pass


@contextmanager
def in_process_requests() -> Iterator[None]:
    """As Django's test client does: the test's connection (and its transaction) outlives each
    request sent to the WSGI app, instead of being closed when the request finishes."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _describe(exc: BaseException) -> str:
    """One line per distinct problem (a FailureGroup holds one per failed check)."""
    parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    return "; ".join(
        f"{type(p).__name__}: {' '.join(str(getattr(p, 'title', '') or p).split())[:300]}"
        + (f" ({' '.join(str(p.message).split())[:300]})" if getattr(p, "message", "") else "")
        for p in parts
    )


def served_schema() -> Any:
    """Our schema as the app serves it (GET /api/schema/), bound to the WSGI app (call it inside
    `in_process_requests`)."""
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


def load_schema(world: World, current: dict[str, str]) -> Any:
    """The served schema with an auth provider that gives each case the credentials of
    `current["role"]` (none for anonymous)."""
    schema = served_schema()

    @schema.auth(refresh_interval=None)
    class RoleAuth:
        def get(self, case: Any, context: Any) -> Credentials | None:
            credentials = world.credentials[current["role"]]
            return credentials if credentials.cookies or credentials.headers else None

        def set(self, case: Any, data: Credentials, context: Any) -> None:
            case.cookies = {**(case.cookies or {}), **data.cookies}
            case.headers = {**(case.headers or {}), **data.headers}

    return schema


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _strategy(operation: Any, mode: GenerationMode, world: World) -> Any:
    generated = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters]
    real = [n for n in names if world.ids.get(n)]
    if not real:
        return generated
    fixed = st.fixed_dictionaries({n: st.sampled_from(world.ids[n]) for n in real}).flatmap(
        lambda values: operation.as_strategy(generation_mode=mode, path_parameters=values)
    )
    return st.one_of(generated, fixed)


def fuzz(
    schema: Any,
    world: World,
    current: dict[str, str],
    *,
    examples: int,
    roles: Iterable[str] = ROLES,
    seed: int | None = None,
) -> Report:
    """Run every operation as every role, `examples` per generation mode; collect, never stop early."""
    report = Report()
    checks = [
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
        ignored_auth,
        no_full_identifier_check(world.identifiers),
    ]
    crashes: list[str] = []

    def on_crash(sender: Any, request: Any = None, **kwargs: Any) -> None:
        crashes.append(traceback.format_exc(limit=-6))

    got_request_exception.connect(on_crash, weak=False)
    try:
        for operation in operations(schema):
            for role in roles:
                current["role"] = role
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _fuzz_one(operation, role, mode, checks, examples, world, report, crashes, seed)
    finally:
        got_request_exception.disconnect(on_crash)
    return report


def _fuzz_one(
    operation: Any,
    role: str,
    mode: GenerationMode,
    checks: list[Any],
    examples: int,
    world: World,
    report: Report,
    crashes: list[str],
    seed: int | None,
) -> None:
    label = operation.label
    seen: set[str] = set()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=_strategy(operation, mode, world))
    def run(case: Any) -> None:
        crashes.clear()
        try:
            with transaction.atomic():
                try:
                    response = case.call()
                    report.examples[(label, role)] += 1
                    report.statuses[(label, role)][response.status_code] += 1
                    case.validate_response(response, checks=checks)
                except (Exception, BaseExceptionGroup) as exc:
                    key = f"{label} [{role}, {mode.value}]: {_describe(exc)}"
                    detail = f"\n    request: {case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]}"
                    if crashes:
                        detail += "\n    server: " + crashes[-1].replace("\n", "\n    ")
                    if key not in seen:
                        seen.add(key)
                        report.failures.append(key + detail)
                raise _Rollback
        except _Rollback:
            pass

    if seed is not None:
        run = hypothesis_seed(seed)(run)
    run()
