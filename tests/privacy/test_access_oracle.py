"""The access oracle: a Hypothesis state machine against a small reference model of the policy.

test_policy_properties.py checks the pure policy (`decide_from`) and its database facts for
one static world at a time. This machine changes the world step by step, through the real
services, as admins do: it gives and takes home roles and grants, creates agreements (scopes
over investigations and verification cases), grants under them, lets them expire (the date
passes) or suspends them, and moves users between units (and agencies). After every step it
compares, with a model written here from DESIGN.md and not from the code:

- `Case.objects.visible_to(user)` for every user, as the set of case ids (one query per user);
- the answers of the detail routes: the case page of every case (200, the 404 of a missing case,
  or 403 without any case work) and a verification case's page (200 or 404). A request costs
  about 40 ms, so each state asks every route whose expected answer changed for any user since
  it was last asked, plus one route of the touched user in rotation (an answer that changes when
  it should not). The first example sweeps every route of every user on the base world, which
  every example starts from.

The world: ICE-HSI (Worksite A and B), TWC, USCIS and SSA; four users; six cases: flagged ones
routed to Worksite A, Worksite B, TWC's unit and SSA's unit, one of USCIS, and an ICE
investigation whose members are its supervisor and an analyst of Worksite B. Each example runs
in a savepoint rolled back at its end, so examples are independent and cheap.

`make test` runs CROSSCHECK_ORACLE_EXAMPLES (default 15) examples; `make fuzz` runs 2,000.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

EXAMPLES = int(os.environ.get("CROSSCHECK_ORACLE_EXAMPLES", "15"))
STEPS = int(os.environ.get("CROSSCHECK_ORACLE_STEPS", "9"))  # 3 of them set up

ROLES = ["analyst", "supervisor", "admin", "auditor", "status_verifier"]
# The model, from DESIGN.md: who does case work, and who reads verification cases.
CASE_WORK_ROLES = {"analyst", "supervisor"}
VCASE_READ_ROLES = {"analyst", "supervisor", "admin", "status_verifier"}
AGENCIES = ["ice", "twc", "uscis", "ssa"]
UNITS = ["unit_a", "unit_b", "twc_unit", "uscis_monitoring", "ssa_numident"]
SCOPES = [
    {"investigations": ["view", "search"]},
    {"investigations": ["search"]},  # no "view": no case page
    {"investigations": ["view", "receive_handoff"], "verification_cases": ["view"]},
    {"verification_cases": ["view", "search"]},
]


# --- The reference model ---------------------------------------------------------------------


@dataclass
class MAgreement:
    source: str
    recipient: str
    scope: dict[str, list[str]]
    suspended: bool = False
    ended: bool = False  # its last day has passed: no new grant under it


@dataclass
class MGrant:
    role: str
    agreement: int | None  # pk of the agreement, None at home
    revoked: bool = False


@dataclass
class MUser:
    unit: str
    agency: str
    roles: set[str]
    grants: dict[int, MGrant] = field(default_factory=dict)  # by grant pk


@dataclass(frozen=True)
class MCase:
    owner: str
    unit: str
    opened: bool
    members: frozenset[str]


class Model:
    """The policy as the design states it; no code of the app is consulted."""

    def __init__(self) -> None:
        self.users: dict[str, MUser] = {}
        self.agreements: dict[int, MAgreement] = {}
        self.cases: dict[int, MCase] = {}

    def _may(self, name: str, owner: str, category: str, roles: set[str]) -> bool:
        user = self.users[name]
        if owner == user.agency:
            home = user.roles | {
                g.role for g in user.grants.values() if g.agreement is None and not g.revoked
            }
            return bool(home & roles)
        for grant in user.grants.values():
            if grant.revoked or grant.agreement is None or grant.role not in roles:
                continue
            a = self.agreements[grant.agreement]
            if (
                self.in_force(a)
                and a.source == owner
                and a.recipient == user.agency
                and "view" in a.scope.get(category, [])
            ):
                return True
        return False

    def in_force(self, agreement: MAgreement) -> bool:
        """Active, and today inside its validity window."""
        return not agreement.suspended and not agreement.ended

    def case_work(self, name: str) -> bool:
        return any(self._may(name, a, "investigations", CASE_WORK_ROLES) for a in AGENCIES)

    def visible(self, name: str) -> set[int]:
        user = self.users[name]
        return {
            pk
            for pk, c in self.cases.items()
            if self._may(name, c.owner, "investigations", CASE_WORK_ROLES)
            and ((c.unit == user.unit and not c.opened) or name in c.members)
        }

    def reads_verification(self, name: str) -> bool:
        return self._may(name, "uscis", "verification_cases", VCASE_READ_ROLES)


# --- The world -------------------------------------------------------------------------------

USERS = {  # name: (unit, home roles)
    "ana": ("unit_a", ["analyst"]),
    "ben": ("unit_b", ["analyst"]),
    "sue": ("unit_a", ["supervisor"]),
    "tia": ("unit_b", ["analyst"]),  # moved to TWC's unit once the base world is built
}
AGENCY_OF_UNIT = {
    "unit_a": "ice",
    "unit_b": "ice",
    "twc_unit": "twc",
    "uscis_monitoring": "uscis",
    "ssa_numident": "ssa",
}


@dataclass
class Base:
    """What every example starts from (built once per test, kept by rolling each example back)."""

    directory: dict[str, Any]
    admin: Any
    users: dict[str, Any]
    cases: dict[int, MCase]
    agreements: dict[str, tuple[Any, MAgreement]]
    tia_grants: list[tuple[Any, MGrant]]
    vcase_pk: int
    clients: dict[str, Client]


def _client(user: Any) -> Client:
    """A session that passed the second factor, without the forms (thousands of steps)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = TOTPDevice.objects.get(user=user).persistent_id
    session["_crosscheck_otp_verified_at"] = time.time()
    session.save()
    return client


def _agreement(
    directory: dict[str, Any], admin: Any, reference: str, source: str, scope: dict[str, list[str]]
) -> Any:
    from privacy.models import AgreementKind
    from privacy.services import agreement_activate, agreement_create

    today = timezone.localdate()
    return agreement_activate(
        actor=admin,
        agreement=agreement_create(
            actor=admin,
            reference=reference,
            title="Oracle agreement",
            kind=AgreementKind.MOU,
            source_agency=directory[source],
            recipient_agency=directory["twc"],
            purpose="Oracle",
            legal_authority="Oracle",
            routine_use="Oracle",
            scope=scope,
            effective_on=today - timedelta(days=10),
            expires_on=today + timedelta(days=100),
        ),
    )


def build_base(directory: dict[str, Any], admin: Any) -> Base:
    from cases import services as case_services
    from cases.models import Case, RoutingRule
    from privacy.services import grant_create, user_update
    from tests.cases.conftest import employer, finding, verification_case
    from tests.factories import UserFactory

    users = {
        name: UserFactory(username=f"oracle-{name}", unit=directory[unit], roles=roles)
        for name, (unit, roles) in USERS.items()
    }
    families = {
        "unit_a": "identity_ssa",
        "unit_b": "identity_dhs",
        "twc_unit": "labor",
        "ssa_numident": "deceased",
        "uscis_monitoring": "status",
    }
    for unit, family in families.items():
        RoutingRule.objects.create(rule_family=family, state="", unit=directory[unit])
    emp = employer(name="Oracle Works")
    made: dict[str, Any] = {}
    for n, (unit, family) in enumerate([*families.items(), ("unit_a", "identity_ssa")]):
        vcase = verification_case(
            emp, ssn=f"52{n}00{n}11{n}", first="Oracle", last=f"Person{'abcdef'[n]}"
        )
        found = finding(vcase=vcase, family=family)
        case_services.findings_ingest_all()
        made[f"{unit}-{n}"] = Case.objects.get(case_findings__finding=found)
    investigation = made["unit_a-5"]
    case_services.case_open_investigation(actor=users["sue"], case=investigation)
    case_services.case_member_add(actor=users["sue"], case=investigation, user=users["ben"])
    # tia worked the investigation at ICE, then moved to TWC: her membership stays, and only an
    # agreement from ICE to TWC (and her grant under it) may let her open it again.
    case_services.case_member_add(actor=users["sue"], case=investigation, user=users["tia"])
    user_update(actor=admin, user=users["tia"], unit=directory["twc_unit"])
    cases = {}
    for key, case in made.items():
        case.refresh_from_db()
        unit = key.rsplit("-", 1)[0]
        opened = case.pk == investigation.pk
        cases[case.pk] = MCase(
            owner=AGENCY_OF_UNIT[unit],
            unit=unit,
            opened=opened,
            members=frozenset({"sue", "ben", "tia"} if opened else set()),
        )
    agreements = {
        key: (_agreement(directory, admin, key, source, scope), MAgreement(source, "twc", scope))
        for key, source, scope in (
            ("base-ice", "ice", {"investigations": ["view", "search", "receive_handoff"]}),
            ("base-uscis", "uscis", {"verification_cases": ["view", "search"]}),
        )
    }
    tia_grants = [
        (
            grant_create(actor=admin, user=users["tia"], role="analyst", agreement=row),
            MGrant(role="analyst", agreement=row.pk),
        )
        for row, _ in agreements.values()
    ]
    return Base(
        directory=directory,
        admin=admin,
        users=users,
        cases=cases,
        agreements=agreements,
        tia_grants=tia_grants,
        vcase_pk=investigation.case_findings.first().finding.case_id,
        clients={name: _client(user) for name, user in users.items()},
    )


class _Rollback(Exception):
    pass


# --- The machine -----------------------------------------------------------------------------


class AccessOracle(RuleBasedStateMachine):
    base: Base  # set by the test
    swept: dict[str, dict[object, int]] | None = None  # the base world's answers, once asked
    model_class: type[Model] = Model
    checks = {"examples": 0, "steps": 0, "visible_to": 0, "routes": 0}

    agreements = Bundle("agreements")
    grants = Bundle("grants")

    def __init__(self) -> None:
        super().__init__()
        type(self).checks["examples"] += 1
        if type(self).checks["examples"] % 100 == 0:  # long runs (make fuzz) show their progress
            sys.__stdout__.write(f"  {type(self).checks}\n")
            sys.__stdout__.flush()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        try:
            self._start()
        except BaseException:
            # Hypothesis calls teardown() only on a machine that was built: a mismatch found while
            # building (the base world's sweep, with a wrong model) must not leave the savepoint
            # open, or the test's own rollback unwinds the savepoint instead and its rows leak.
            self.teardown()
            raise

    def _start(self) -> None:
        self.model = self.model_class()
        self.touched = "ana"
        self.reference = 0
        self.rotation_at = 0
        for name, (unit, roles) in USERS.items():
            unit = "twc_unit" if name == "tia" else unit
            self.model.users[name] = MUser(unit=unit, agency=AGENCY_OF_UNIT[unit], roles=set(roles))
        self.model.cases = dict(self.base.cases)
        for row, m in self.base.agreements.values():
            self.model.agreements[row.pk] = MAgreement(m.source, m.recipient, m.scope)
        for row, m in self.base.tia_grants:
            self.model.users["tia"].grants[row.pk] = MGrant(m.role, m.agreement)
        self.users = {n: type(u).objects.get(pk=u.pk) for n, u in self.base.users.items()}
        # The route answers last asked (or, on the base world, swept once per test) per user.
        self.asked = {name: dict(answers) for name, answers in self.base_answers().items()}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # -- steps --

    @initialize(target=agreements)
    def base_agreements(self) -> Any:
        """ICE-HSI's and USCIS's agreements with TWC, in force (tia holds a grant under each)."""
        self.touched = "tia"
        return multiple(*(row for row, _ in self.base.agreements.values()))

    @initialize(target=grants)
    def base_grants(self) -> Any:
        return multiple(*(("tia", row) for row, _ in self.base.tia_grants))

    @initialize(start=st.integers(0, 6))
    def rotation(self, start: int) -> None:
        """Where the rotation of sampled routes starts (drawn, so that a failure replays)."""
        self.rotation_at = start

    @rule(name=st.sampled_from(list(USERS)), unit=st.sampled_from(UNITS))
    def move(self, name: str, unit: str) -> None:
        from privacy.services import user_update

        user_update(actor=self.base.admin, user=self.users[name], unit=self.base.directory[unit])
        self.model.users[name].unit = unit
        self.model.users[name].agency = AGENCY_OF_UNIT[unit]
        self.touched = name

    @rule(name=st.sampled_from(list(USERS)), roles=st.sets(st.sampled_from(ROLES), max_size=2))
    def set_home_roles(self, name: str, roles: set[str]) -> None:
        from privacy.services import user_update

        user_update(actor=self.base.admin, user=self.users[name], roles=sorted(roles))
        self.model.users[name].roles = set(roles)
        self.touched = name

    @rule(target=grants, name=st.sampled_from(list(USERS)), role=st.sampled_from(ROLES))
    def grant_home(self, name: str, role: str) -> Any:
        from privacy.services import grant_create

        grant = grant_create(actor=self.base.admin, user=self.users[name], role=role)
        self.model.users[name].grants[grant.pk] = MGrant(role=role, agreement=None)
        self.touched = name
        return (name, grant)

    @rule(grant=consumes(grants))
    def revoke(self, grant: tuple[str, Any]) -> None:
        from privacy.services import grant_revoke

        name, row = grant
        if row is None:  # a grant the service refused
            return
        grant_revoke(actor=self.base.admin, grant=row, reason="Oracle step")
        self.model.users[name].grants[row.pk].revoked = True
        self.touched = name

    @rule(
        target=agreements,
        source=st.sampled_from(["ice", "uscis", "ssa"]),  # the owners of the cases and records
        recipient=st.sampled_from(["twc", "ice", "twc", "uscis"]),
        scope=st.sampled_from(SCOPES),
    )
    def create_agreement(self, source: str, recipient: str, scope: dict[str, list[str]]) -> Any:
        from privacy.models import AgreementKind
        from privacy.services import agreement_activate, agreement_create

        if source == recipient:
            recipient = "twc"
        self.reference += 1
        today = timezone.localdate()
        agreement = agreement_activate(
            actor=self.base.admin,
            agreement=agreement_create(
                actor=self.base.admin,
                reference=f"oracle-{self.reference}",
                title="Oracle agreement",
                kind=AgreementKind.MOU,
                source_agency=self.base.directory[source],
                recipient_agency=self.base.directory[recipient],
                purpose="Oracle",
                legal_authority="Oracle",
                routine_use="Oracle",
                scope=scope,
                effective_on=today - timedelta(days=10),
                expires_on=today + timedelta(days=100),
            ),
        )
        self.model.agreements[agreement.pk] = MAgreement(source, recipient, scope)
        return agreement

    @rule(
        target=grants,
        agreement=agreements,
        pick=st.integers(0, 7),
        role=st.sampled_from([*ROLES, "analyst", "supervisor"]),
    )
    def grant_under(self, agreement: Any, pick: int, role: str) -> Any:
        """A grant under the agreement, mostly to a user of its recipient agency (else refused)."""
        from core.errors import ValidationFailed
        from privacy.models import Agreement
        from privacy.services import grant_create

        m = self.model.agreements[agreement.pk]
        eligible = [n for n, u in self.model.users.items() if u.agency == m.recipient]
        names = eligible + list(USERS) if pick < 6 and eligible else list(USERS)
        name = names[pick % len(names)]
        user = self.users[name]
        fresh = Agreement.objects.get(pk=agreement.pk)
        self.touched = name
        if m.recipient != self.model.users[name].agency or m.ended:
            with pytest.raises(ValidationFailed):
                grant_create(actor=self.base.admin, user=user, role=role, agreement=fresh)
            return (name, None)
        grant = grant_create(actor=self.base.admin, user=user, role=role, agreement=fresh)
        self.model.users[name].grants[grant.pk] = MGrant(role=role, agreement=agreement.pk)
        return (name, grant)

    @rule(agreement=agreements)
    def expire(self, agreement: Any) -> None:
        """The agreement's last day passes (the nightly job has not marked it yet)."""
        from privacy.models import Agreement

        yesterday = timezone.localdate() - timedelta(days=1)
        Agreement.objects.filter(pk=agreement.pk).update(
            expires_on=yesterday, effective_on=yesterday - timedelta(days=30)
        )
        self.model.agreements[agreement.pk].ended = True

    @rule(agreement=agreements)
    def suspend(self, agreement: Any) -> None:
        from privacy.models import Agreement
        from privacy.services import agreement_suspend

        fresh = Agreement.objects.get(pk=agreement.pk)
        if fresh.status == "active":
            agreement_suspend(actor=self.base.admin, agreement=fresh, reason="Oracle step")
        self.model.agreements[agreement.pk].suspended = True

    # -- the comparison --

    @invariant()
    def visible_to_agrees(self) -> None:
        from cases.models import Case

        type(self).checks["steps"] += 1
        for name, user in self.users.items():
            fresh = type(user).objects.get(pk=user.pk)
            got = set(Case.objects.visible_to(fresh).values_list("pk", flat=True))
            expected = self.model.visible(name)
            type(self).checks["visible_to"] += 1
            assert got == expected, (name, sorted(got), sorted(expected), self.model.users[name])

    def expected_answers(self, name: str) -> dict[object, int]:
        """What the model says each detail route answers `name` (by case pk, and "vcase")."""
        work = self.model.case_work(name)
        visible = self.model.visible(name)
        answers: dict[object, int] = {
            pk: 200 if pk in visible else (404 if work else 403) for pk in self.model.cases
        }
        answers["vcase"] = 200 if self.model.reads_verification(name) else 404
        return answers

    def base_answers(self) -> dict[str, dict[object, int]]:
        """The base world's answers: swept over every route and user by the first example."""
        cls = type(self)
        if cls.swept is None:
            answers = {name: self.expected_answers(name) for name in USERS}
            for name, expected in answers.items():
                for key, answer in expected.items():
                    self.ask(name, key, answer)
            cls.swept = answers  # kept only once all agree, so that a failure replays
        return cls.swept

    def ask(self, name: str, key: object, expected: int) -> None:
        path = f"/verification/cases/{self.base.vcase_pk}/" if key == "vcase" else f"/cases/{key}/"
        got = self.base.clients[name].get(path).status_code
        type(self).checks["routes"] += 1
        assert got == expected, (name, key, got, expected, self.model.users[name])

    @invariant()
    def detail_routes_agree(self) -> None:
        for name in USERS:
            expected = self.expected_answers(name)
            keys = [key for key, answer in expected.items() if self.asked[name].get(key) != answer]
            if name == self.touched:
                rotation = list(expected)
                keys.append(rotation[self.rotation_at % len(rotation)])
                self.rotation_at += 1
            for key in dict.fromkeys(keys):
                self.ask(name, key, expected[key])
            self.asked[name] = expected


def run_oracle(machine: type[AccessOracle], base: Base, **options: Any) -> dict[str, int]:
    """Run `machine` from `base` with fresh counters; return them."""
    machine.base = base
    machine.swept = None
    machine.checks = {"examples": 0, "steps": 0, "visible_to": 0, "routes": 0}
    run_state_machine_as_test(
        machine,
        settings=settings(
            stateful_step_count=STEPS,
            deadline=None,  # a step is many queries and requests: its time says nothing
            database=None,  # each run explores afresh; nothing is kept between runs
            # The state machine is the test's own data: too_slow and filter_too_much would only
            # say that an example costs many database round trips.
            suppress_health_check=list(HealthCheck),
            **options,
        ),
    )
    return machine.checks


@pytest.mark.slow
@pytest.mark.django_db
# make fuzz's 2,000 examples take about a quarter of an hour: more than the suite's 15 minutes.
@pytest.mark.timeout(max(900, 2 * EXAMPLES))
def test_visible_to_and_every_detail_route_agree_with_the_model(directory, adam, capsys):
    started = time.monotonic()
    checks = run_oracle(AccessOracle, build_base(directory, adam), max_examples=EXAMPLES)
    with capsys.disabled():
        print(  # noqa: T201 - make fuzz prints the figures
            f"\naccess oracle: {checks['examples']} examples (max_examples={EXAMPLES}), "
            f"{checks['steps']} states, "
            f"{checks['visible_to']} visible_to comparisons, {checks['routes']} route answers, "
            f"0 mismatches ({time.monotonic() - started:.0f} s)"
        )
    assert checks["examples"] >= EXAMPLES
    assert checks["steps"] >= EXAMPLES


class ModelIgnoringDates(Model):
    """A wrong model: an agreement whose last day has passed still counts while it is active."""

    def in_force(self, agreement: MAgreement) -> bool:
        return not agreement.suspended


class ModelIgnoringUnits(Model):
    """A wrong model: every analyst of the owning agency sees its flagged cases, any unit."""

    def visible(self, name: str) -> set[int]:
        return {
            pk
            for pk, c in self.cases.items()
            if self._may(name, c.owner, "investigations", CASE_WORK_ROLES)
            and (not c.opened or name in c.members)
        }


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("wrong", [ModelIgnoringDates, ModelIgnoringUnits])
def test_the_oracle_catches_a_wrong_model(directory, adam, wrong):
    """The machine can fail: a model with one rule left out disagrees with the app, and is caught."""
    machine = type(f"Oracle{wrong.__name__}", (AccessOracle,), {"model_class": wrong})
    depth = len(connection.atomic_blocks)
    with pytest.raises(AssertionError):
        run_oracle(
            machine,
            build_base(directory, adam),
            max_examples=200,
            phases=[Phase.generate],  # finding it is the point; no shrinking
            derandomize=True,  # the same examples every time: caught, or never
            report_multiple_bugs=False,
        )
    # Every example's savepoint is closed, whatever failed: nothing it wrote outlives the test.
    assert len(connection.atomic_blocks) == depth
