"""SSA's and DHS's values on the case pages are their data: showing them is accounted to them.

A flagged case belongs to its owning agency (ICE-HSI here), but the reference side of its
findings comes from SSA's Numident and DHS's records. When a reader of another agency sees those
values (under an agreement), the accounting of disclosures (5 U.S.C. 552a(c)) names SSA or DHS as
the owner and the category of the data, through the one read path (privacy.reads).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from cases.models import Case
from cases.services import evidence as evidence_services
from privacy.models import Disclosure, DisclosureBasis, RoleGrant
from tests.cases.conftest import grant_under_agreement
from tests.pdftext import pdf_text

pytestmark = pytest.mark.django_db

SSA_AND_DHS_FIELDS = [
    {"field": "last_name", "source": "ssa", "submitted": "GARCIA", "reference": "MARTINEZ"},
    {"field": "citizenship", "source": "ssa", "submitted": "citizen", "reference": "alien"},
    {"field": "naturalized_on", "source": "dhs", "submitted": None, "reference": "2011-05-06"},
]


@pytest.fixture
def ssa_to_ice(directory, alice):
    """SSA shares its identity data with ICE-HSI; alice holds a grant under the agreement."""
    return grant_under_agreement(directory, alice, source="ssa", scope={"ssa_identity": ["view"]})


@pytest.fixture
def uscis_to_ice(directory, alice):
    """USCIS shares DHS immigration data with ICE-HSI (one department); alice holds a grant."""
    return grant_under_agreement(
        directory, alice, source="uscis", scope={"dhs_immigration": ["view"]}
    )


def _finding_of(case: Case) -> Any:
    return case.case_findings.select_related("finding").get().finding


def test_ssa_values_on_the_case_page_are_accounted_to_ssa(
    make_case, login, alice, directory, ssa_to_ice
):
    case = make_case()
    body = login(alice).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "MARTINEZ" in body  # SSA's surname: her agreement covers SSA identity data
    entry = Disclosure.objects.get(category="ssa_identity")
    assert (entry.owner_agency_id, entry.recipient_agency_id, entry.recipient_user_id) == (
        directory["ssa"].pk,
        directory["ice"].pk,
        alice.pk,
    )
    assert (entry.agreement_id, entry.basis, entry.accountable) == (
        ssa_to_ice.pk,
        DisclosureBasis.ROUTINE_USE,
        True,  # SSA and ICE-HSI are in different departments
    )
    assert (entry.record_type, entry.record_id) == ("crossref.finding", str(_finding_of(case).pk))
    assert entry.person_ref == case.subject_ref
    # The case itself is ICE-HSI's own: it needs no entry.
    assert list(Disclosure.objects.values_list("category", flat=True)) == ["ssa_identity"]
    read = AuditEvent.objects.filter(action="cases.case_viewed").latest("id")
    assert read.detail["categories"] == ["ssa_identity"]


def test_values_withheld_from_the_reader_are_not_accounted(make_case, login, alice):
    case = make_case()
    body = login(alice).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "MARTINEZ" not in body
    assert "withheld" in body
    assert not Disclosure.objects.exists()
    read = AuditEvent.objects.filter(action="cases.case_viewed").latest("id")
    assert "categories" not in read.detail  # nothing of SSA's or DHS's was shown


def test_ssa_and_dhs_values_of_one_finding_make_one_entry_each(
    make_case, login, alice, directory, ssa_to_ice, uscis_to_ice
):
    case = make_case(fields=SSA_AND_DHS_FIELDS)
    body = login(alice).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "MARTINEZ" in body
    assert "2011-05-06" in body
    entries = {d.category: d for d in Disclosure.objects.all()}
    assert sorted(entries) == ["dhs_immigration", "ssa_identity"]
    finding = str(_finding_of(case).pk)
    assert {d.record_id for d in entries.values()} == {finding}
    assert entries["ssa_identity"].owner_agency_id == directory["ssa"].pk
    assert entries["dhs_immigration"].owner_agency_id == directory["uscis"].pk
    # USCIS and ICE-HSI are both DHS: kept as a (b)(1) entry, not accountable.
    assert (entries["dhs_immigration"].basis, entries["dhs_immigration"].accountable) == (
        DisclosureBasis.NEED_TO_KNOW,
        False,
    )


def test_the_printed_notice_accounts_for_the_reference_values_it_shows(
    make_case, login, alice, directory, ssa_to_ice
):
    case = make_case()
    evidence_services.notice_document_store(actor=alice, case=case)
    response = login(alice).get(reverse("cases:notice", args=[case.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert "MARTINEZ" in pdf_text(response.content)
    entry = Disclosure.objects.get(category="ssa_identity")
    assert (entry.owner_agency_id, entry.record_id) == (
        directory["ssa"].pk,
        str(_finding_of(case).pk),
    )


def test_the_printed_notice_is_refused_to_a_reader_outside_what_it_shows(
    make_case, login, alice, directory, ssa_to_ice
):
    """The notice is kept as generated for the worker (SSA's values included): it cannot be
    minimised, so a reader without SSA identity data in their agreements does not get it."""
    case = make_case()
    evidence_services.notice_document_store(actor=alice, case=case)
    RoleGrant.objects.filter(user=alice).delete()  # alice loses her SSA grant
    response = login(alice).get(reverse("cases:notice", args=[case.pk]), follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("cases:detail", args=[case.pk])
    assert "which your agreements do not cover" in body
    assert "MARTINEZ" not in body
    assert not Disclosure.objects.exists()
