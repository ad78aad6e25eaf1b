"""The Computer Matching Act notice to the person: a PDF in their language, its 30-day contest
window in calendar days, identifiers by their last four, printed only to readers who may see it."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEvent
from cases import services
from cases.services import evidence as evidence_services
from core.errors import ValidationFailed
from privacy import crypto
from privacy.models import Role
from tests.cases.conftest import grant_under_agreement
from tests.factories import UserFactory
from tests.pdftext import pdf_text
from verification.models import VerificationCase

pytestmark = pytest.mark.django_db

SSN = "600000417"


@pytest.fixture
def ssa_to_ice(directory, alice):
    return grant_under_agreement(directory, alice, source="ssa", scope={"ssa_identity": ["view"]})


def speaks(ssn: str, language: str) -> None:
    """The person named `language` on their verification case."""
    VerificationCase.objects.filter(ssn_bidx=crypto.blind_index(ssn, kind="ssn")).update(
        preferred_language=language
    )


EXPECTED = {
    # Issued Friday 4 December 2026: the window is 30 calendar days (3 January 2027, a Sunday),
    # not 30 federal working days (which would end on 19 January).
    "en": [
        "Notice of findings and of your right to contest",
        "Dec. 4, 2026",
        "Jan. 3, 2027",
        "30 calendar days",
        "Last name",
    ],
    "es": [
        "Aviso de hallazgos y de su derecho a impugnarlos",
        "4 de diciembre de 2026",
        "3 de enero de 2027",
        "30 días naturales",
        "Apellido",
    ],
}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_notice_is_in_the_persons_language_with_its_30_day_window(make_case, alice, lang):
    case = make_case(ssn=SSN, first="Ana", last="Núñez")
    speaks(SSN, lang)
    with time_machine.travel("2026-12-04 15:00Z"):
        evidence = evidence_services.notice_document_store(actor=alice, case=case)
    assert evidence.original_name == f"notice-{case.number}-{lang}.pdf"
    text = pdf_text(evidence.file.read())
    for value in EXPECTED[lang]:
        assert value in text
    assert EXPECTED["es" if lang == "en" else "en"][0] not in text
    assert "Jan. 19, 2027" not in text
    assert "19 de enero" not in text
    assert "MARTINEZ" in text  # SSA's value, for the person to contest
    assert f"XXX-XX-{SSN[-4:]}" in text
    assert SSN not in text


def test_identifiers_in_the_findings_show_only_their_last_four(make_case, alice):
    fields = [
        {"field": "ssn", "source": "ssa", "submitted": "600000418", "reference": "600000481"},
        {"field": "a_number", "source": "dhs", "submitted": "A087654321", "reference": ""},
    ]
    case = make_case(ssn="600000418", fields=fields)
    pdf = evidence_services.notice_document_store(actor=alice, case=case).file.read()
    text = pdf_text(pdf)
    assert "•••0418" in text
    assert "•••0481" in text
    assert "•••4321" in text
    for full in ("600000418", "600000481", "087654321", "A087654321"):
        assert full not in text
        assert full.encode() not in pdf


def test_a_language_can_be_chosen_at_issue_and_an_unknown_one_is_refused(make_case, alice):
    case = make_case(ssn=SSN)
    speaks(SSN, "es")
    evidence = evidence_services.notice_document_store(actor=alice, case=case, language="en")
    assert "Notice of findings" in pdf_text(evidence.file.read())
    with pytest.raises(ValidationFailed) as caught:
        evidence_services.notice_document_store(actor=alice, case=case, language="tlh")
    assert "language" in caught.value.field_errors


def test_printing_serves_the_kept_pdf_or_the_same_notice_in_another_language(
    make_case, login, alice, ssa_to_ice
):
    case = make_case(ssn=SSN)
    speaks(SSN, "es")
    with time_machine.travel("2026-12-04 15:00Z"):
        kept = evidence_services.notice_document_store(actor=alice, case=case)
    client = login(alice)
    url = reverse("cases:notice", args=[case.pk])
    response = client.get(url)
    assert response["Content-Type"] == "application/pdf"
    assert response.content == kept.file.open("rb").read()  # exactly as generated
    read = AuditEvent.objects.filter(action="cases.case_viewed").latest("id")
    assert (read.detail["page"], read.detail["file"]) == ("notice", kept.original_name)
    assert read.detail["sha256"] == kept.sha256

    english = client.get(url, {"language": "en"})
    assert english["Content-Disposition"].endswith(f'notice-{case.number}-en.pdf"')
    text = pdf_text(english.content)
    assert "Notice of findings" in text
    assert "Dec. 4, 2026" in text  # the notice's own date, not today's
    read = AuditEvent.objects.filter(action="cases.case_viewed").latest("id")
    assert read.detail["file"] == f"notice-{case.number}-en.pdf"

    bad = client.get(url, {"language": "xx"}, follow=True)
    assert bad.redirect_chain[-1][0] == reverse("cases:detail", args=[case.pk])
    assert "language: Choose one of: en, es." in bad.content.decode()


def test_the_case_page_generates_the_notice_in_the_chosen_language(make_case, login, alice, sam):
    vic = UserFactory(username="vic", unit=alice.unit, roles=[Role.ANALYST])
    case = make_case(ssn=SSN)
    services.case_open_investigation(actor=alice, case=case)
    services.case_member_add(actor=alice, case=case, user=vic)
    services.case_request_verification(actor=alice, case=case)
    services.case_verify_match(actor=vic, case=case, note="Checked the SSA record by phone.")
    client = login(alice)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'name="language"' in page
    assert '<option value="es">español</option>' in page
    url = reverse("cases:action", args=[case.pk, "notice"])
    refused = client.post(url, {"language": "xx"}, follow=True)
    assert "language: That is not one of the choices." in refused.content.decode()
    assert not case.evidence.exists()  # nothing generated, the case unchanged
    client.post(url, {"language": "es"})
    case.refresh_from_db()
    assert case.status == "notice_issued"
    evidence = case.evidence.get(kind="notice")
    assert evidence.original_name == f"notice-{case.number}-es.pdf"
    assert "Aviso de hallazgos" in pdf_text(evidence.file.read())
    issued = AuditEvent.objects.get(action="cases.notice_issued")
    assert issued.detail["language"] == "es"
    assert issued.detail["sha256"] == evidence.sha256
