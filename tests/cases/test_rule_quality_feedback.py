"""Every disposition outcome reaches the rule-quality figures (M8): verified, adverse, false positive, no action."""

from __future__ import annotations

import pytest

from cases import services
from cases.models import Closure
from crossref.models import Finding
from crossref.selectors import rule_quality
from tests.cases.test_services import _to_contest_window, verifier  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _outcomes(case):
    return sorted(cf.finding.disposition for cf in case.case_findings.select_related("finding"))


def _quality(code):
    return next(q for q in rule_quality() if q.code == code)


def _registered(case):
    """The factory's findings carry a made-up rule code; the quality page lists registered rules."""
    ids = list(case.case_findings.values_list("finding_id", flat=True))
    Finding.objects.filter(pk__in=ids).update(rule_code="SSA-IDENTITY")
    return "SSA-IDENTITY"


def test_independent_verification_counts_as_verified(make_case, alice, verifier):  # noqa: F811
    case = make_case()
    services.case_open_investigation(actor=alice, case=case)
    services.case_member_add(actor=alice, case=case, user=verifier)
    services.case_request_verification(actor=alice, case=case)
    services.case_verify_match(actor=verifier, case=case, note="Called SSA")
    assert set(_outcomes(case)) == {"verified"}


def test_a_signed_off_adverse_disposition_counts_as_adverse(make_case, alice, sam, verifier):  # noqa: F811
    case = make_case()
    code = _registered(case)
    case = _to_contest_window(case, alice, verifier)
    services.case_disposition_propose(actor=alice, case=case, closure=Closure.REFERRAL)
    case = services.case_disposition_sign_off(actor=sam, case=case)
    assert set(_outcomes(case)) == {"adverse"}
    assert _quality(code).adverse >= 1


def test_closing_with_no_violation_counts_as_no_action(make_case, alice):
    case = make_case()
    code = _registered(case)
    services.case_open_investigation(actor=alice, case=case)
    case = services.case_close(actor=alice, case=case, closure=Closure.NO_VIOLATION)
    assert set(_outcomes(case)) == {"no_action"}
    quality = _quality(code)
    assert quality.no_action >= 1
    assert quality.false_positive_rate == 0.0


def test_a_dismissal_counts_as_a_false_positive(make_case, alice):
    case = make_case()
    services.case_dismiss(actor=alice, case=case, reason="clerical", note="")
    assert set(_outcomes(case)) == {"dismissed"}


def test_a_finding_counts_once_whatever_its_case_went_through(make_case, alice, verifier):  # noqa: F811
    case = make_case()
    code = _registered(case)
    services.case_open_investigation(actor=alice, case=case)
    services.case_member_add(actor=alice, case=case, user=verifier)
    services.case_request_verification(actor=alice, case=case)
    services.case_verify_match(actor=verifier, case=case, note="Called SSA")
    before = _quality(code)
    services.case_close(actor=alice, case=case, closure=Closure.NO_VIOLATION)
    after = _quality(code)
    assert after.hits == before.hits
    assert (after.verified, after.no_action) == (before.verified - 1, before.no_action + 1)
