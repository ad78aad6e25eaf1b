"""Notices to the worker (FAN, RDC, closure): PDFs in the worker's language, dates in federal
working days, nothing but the last four of an identifier, every print audited and accounted."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import formats, timezone, translation
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

from audit.models import AuditEvent
from config.languages import languages_in
from config.translations import compile_all
from core.errors import IllegalTransition, ValidationFailed
from privacy.models import AgreementKind, Disclosure, Role
from privacy.reads import hidden_fields
from privacy.services import agreement_activate, agreement_create, grant_create
from tests.factories import UserFactory
from tests.pdftext import pdf_text as text_of
from tests.verification.conftest import CANARY_SSN, create, i9
from verification import services, validation
from verification.models import CaseStatus
from verification.notices import render_closure, render_fan, render_notice, render_rdc
from verification.notices.pdf import Unprintable
from verification.selectors import CASE_FIELD_CATEGORIES

pytestmark = pytest.mark.django_db

FULL_SSN = ("521874390", "521-87-4390", "521 87 4390")
A_NUMBER = "A087654321"
LANGS = ["en", "es"]


def assert_no_full_identifier(pdf: bytes, *identifiers: str) -> None:
    """No identifier in full in the PDF's text or anywhere in its bytes (metadata included)."""
    text = text_of(pdf)
    flat = "".join(ch for ch in text if ch.isalnum())
    for value in identifiers:
        digits = "".join(ch for ch in value if ch.isalnum())
        assert value not in text
        assert digits not in flat
        assert value.encode() not in pdf
        assert digits.encode() not in pdf


def mismatch(employer, **overrides):
    """José Núñez on Maria's SSN: an SSA mismatch, with accents the notice must print."""
    case = create(employer, first_name="José", last_name="Núñez", **overrides)
    assert case.status == CaseStatus.TENTATIVE_NONCONFIRMATION
    return case


@pytest.fixture
def thanksgiving_fan(employer, ssa):
    """A mismatch on Friday 20 November 2026; the FAN given on Monday 23 (Thanksgiving is 26)."""
    with time_machine.travel("2026-11-20 15:00Z"):
        case = mismatch(employer)
    with time_machine.travel("2026-11-23 15:00Z"):
        return services.case_fan_issue(actor=None, case=case)


EXPECTED_FAN = {
    # The decision: 10 federal working days after the mismatch of 20 November, Thanksgiving
    # skipped (7 December, not 4). If referred on the notice's date (23 November), the contact
    # deadline is 8 federal working days later: 4 December, not 3 (Thanksgiving).
    "en": ["Further Action Notice", "Dec. 7, 2026", "Dec. 4, 2026", "Nov. 20, 2026", "8 federal"],
    "es": [
        "Aviso de acción adicional",
        "7 de diciembre de 2026",
        "4 de diciembre de 2026",
        "20 de noviembre de 2026",
        "8 días hábiles federales",
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_the_fan_counts_its_deadlines_in_federal_working_days_around_thanksgiving(
    thanksgiving_fan, lang
):
    text = text_of(render_fan(thanksgiving_fan, lang))
    for expected in EXPECTED_FAN[lang]:
        assert expected in text
    other = "es" if lang == "en" else "en"
    assert EXPECTED_FAN[other][0] not in text
    assert "José Núñez" in text  # the Unicode font prints the accents
    assert "Acme Farms" not in text  # the worker knows who employs them: no employer data
    assert "XXX-XX-4390" in text  # the last four, and only them
    assert "3 de diciembre" not in text
    assert "Dec. 3," not in text


def test_the_fan_of_a_referred_case_gives_the_real_contact_deadline(employer, ssa):
    with time_machine.travel("2026-11-20 15:00Z"):
        case = mismatch(employer)
        services.case_fan_issue(actor=None, case=case)
        services.case_decide(actor=None, case=case, decision="take_action")
    with time_machine.travel("2026-11-25 15:00Z"):
        case = services.case_refer(actor=None, case=case)
    # Wednesday 25 November + 8 federal working days: Thanksgiving (26) skipped, 8 December.
    assert case.contact_due_on == date(2026, 12, 8)
    text = text_of(render_fan(case, "es"))
    assert "Su caso se remitió el 25 de noviembre de 2026" in text
    assert "a más tardar el 8 de diciembre de 2026" in text


@pytest.mark.parametrize("lang", LANGS)
def test_the_rdc_gives_the_contact_deadline_past_christmas_and_new_year(employer, ssa, lang):
    with time_machine.travel("2026-12-21 15:00Z"):
        case = mismatch(employer)
        services.case_fan_issue(actor=None, case=case)
        services.case_decide(actor=None, case=case, decision="take_action")
    with time_machine.travel("2026-12-22 15:00Z"):
        case = services.case_refer(actor=None, case=case)
    # 8 federal working days from Tuesday 22 December: 25 December and 1 January are holidays.
    assert case.contact_due_on == date(2027, 1, 5)
    text = text_of(render_rdc(case, lang))
    expected = {
        "en": [
            "Referral Date Confirmation",
            "Dec. 22, 2026",
            "Jan. 5, 2027",
            "Social Security office",
        ],
        "es": [
            "Confirmación de la fecha de remisión",
            "22 de diciembre de 2026",
            "5 de enero de 2027",
            "oficina del Seguro Social",
        ],
    }[lang]
    for value in expected:
        assert value in text
    assert "888-897-7781" not in text  # an SSA mismatch: no DHS instructions
    assert_no_full_identifier(render_rdc(case, lang), *FULL_SSN)


@pytest.mark.parametrize("lang", LANGS)
def test_the_closure_notice_names_the_result_and_reason_in_the_workers_language(
    employer, ssa, lang
):
    with time_machine.travel("2026-11-20 15:00Z"):
        case = mismatch(employer)
        services.case_fan_issue(actor=None, case=case)
        services.case_decide(actor=None, case=case, decision="no_action")
    with time_machine.travel("2026-11-24 15:00Z"):
        case = services.case_close(actor=None, case=case, code="terminated_after_fnc")
    text = text_of(render_closure(case, lang))
    expected = {
        "en": [
            "Case closure notice",
            "Nov. 24, 2026",
            "Final Nonconfirmation",
            "Employee terminated after Final Nonconfirmation",
            "could not confirm",
        ],
        "es": [
            "Aviso de cierre del caso",
            "24 de noviembre de 2026",
            "No confirmación definitiva",
            "Empleo terminado tras la no confirmación definitiva",
            "no pudo confirmar",
        ],
    }[lang]
    for value in expected:
        assert value in text


@pytest.mark.parametrize("lang", LANGS)
def test_no_notice_holds_a_full_ssn_or_a_number(employer, ssa, lang):
    case = mismatch(
        employer,
        citizenship_status="authorized_alien",
        a_number=A_NUMBER,
        document_type="employment_authorization",
        document_number="EAD0005678",
        document_expires_on=date(2030, 1, 1),
    )
    services.case_fan_issue(actor=None, case=case)
    services.case_decide(actor=None, case=case, decision="take_action")
    services.case_refer(actor=None, case=case)
    case.refresh_from_db()
    assert case.a_number_last4 == "4321"
    for kind in ("fan", "rdc"):
        pdf = render_notice(case, kind, lang).content
        assert "4390" in text_of(pdf)  # the check below reads the text it means to read
        assert_no_full_identifier(pdf, *FULL_SSN, A_NUMBER, A_NUMBER[1:], CANARY_SSN)


def test_a_notice_the_case_has_not_reached_is_refused(employer, ssa):
    case = mismatch(employer)
    with pytest.raises(IllegalTransition):
        render_rdc(case, "en")
    with pytest.raises(IllegalTransition):
        render_closure(case, "en")
    with pytest.raises(ValidationFailed) as caught:
        render_notice(case, "fan", "xx")
    assert "language" in caught.value.field_errors


def test_the_notice_is_printed_in_the_workers_language_by_default(employer, ssa):
    case = mismatch(employer, preferred_language="es")
    assert case.preferred_language == "es"
    assert "Aviso de acción adicional" in text_of(render_fan(case))
    assert "Further Action Notice" in text_of(render_fan(case, "en"))


def test_the_print_service_audits_the_pdf_it_hands_out(employer, ssa):
    case = mismatch(employer, preferred_language="es")
    notice = services.case_notice_print(actor=None, case=case, kind="fan")
    event = AuditEvent.objects.filter(action="vcase.notice_printed").latest("id")
    assert event.detail == {"notice": "fan", "language": "es", "sha256": notice.sha256}
    assert f"vcase:{case.pk}" in event.subjects
    assert notice.filename == f"fan-{case.pk}-es.pdf"


# --- The employer API: the worker's language, checked field by field ---------------------------


def test_the_api_takes_the_workers_language_and_refuses_an_unknown_one(
    employer, ssa, api_client_for
):
    client = api_client_for(employer)
    body = {
        **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in _i9().items()},
        "preferred_language": "xx",
    }
    response = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 400
    assert "preferred_language" in response.json()["error"]["fields"]
    body["preferred_language"] = "es"
    response = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert response.status_code == 201, response.json()
    assert response.json()["preferred_language"] == "es"


def test_the_api_records_the_language_with_the_fan(employer, ssa, api_client_for):
    case = mismatch(employer)
    client = api_client_for(employer)
    url = f"/api/v1/cases/{case.pk}/notice/"
    response = client.post(url, {"preferred_language": "klingon"}, format="json")
    assert response.status_code == 400
    assert "preferred_language" in response.json()["error"]["fields"]
    case.refresh_from_db()
    assert (case.fan_issued_on, case.preferred_language) == (None, "en")  # nothing changed
    response = client.post(url, {"preferred_language": "es"}, format="json")
    assert response.status_code == 200
    assert response.json()["preferred_language"] == "es"


def test_an_employer_downloads_the_fan_of_its_own_case_in_the_workers_language(
    employer, other_employer, ssa, api_client_for
):
    case = mismatch(employer, preferred_language="es")
    client = api_client_for(employer)
    response = client.get(f"/api/v1/cases/{case.pk}/notices/fan.pdf", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "Aviso de acción adicional" in text_of(response.content)
    event = AuditEvent.objects.filter(action="vcase.notice_printed").latest("id")
    assert (event.detail["notice"], event.detail["language"]) == ("fan", "es")
    english = client.get(f"/api/v1/cases/{case.pk}/notices/fan.pdf", {"language": "en"})
    assert "Further Action Notice" in text_of(english.content)
    # Another employer's key: the same 404 as a missing case; nothing printed.
    printed = AuditEvent.objects.filter(action="vcase.notice_printed").count()
    other = api_client_for(other_employer).get(f"/api/v1/cases/{case.pk}/notices/fan.pdf")
    assert other.status_code == 404
    assert AuditEvent.objects.filter(action="vcase.notice_printed").count() == printed


def test_the_api_answers_a_bad_notice_request_field_by_field(employer, ssa, api_client_for):
    case = mismatch(employer)
    client = api_client_for(employer)
    bad_language = client.get(f"/api/v1/cases/{case.pk}/notices/fan.pdf", {"language": "xx"})
    assert bad_language.status_code == 400
    assert "language" in bad_language.json()["error"]["fields"]
    bad_kind = client.get(f"/api/v1/cases/{case.pk}/notices/i9.pdf")
    assert bad_kind.status_code == 400
    assert "kind" in bad_kind.json()["error"]["fields"]
    not_yet = client.get(f"/api/v1/cases/{case.pk}/notices/closure.pdf")
    assert not_yet.status_code == 409
    # A client that asks for a PDF still gets its errors as JSON, labelled so.
    for kind, asked, status in (
        ("fan", {"format": "pdf", "language": "xx"}, 400),
        ("closure", {"format": "pdf"}, 409),
    ):
        answer = client.get(
            f"/api/v1/cases/{case.pk}/notices/{kind}.pdf", asked, HTTP_ACCEPT="application/pdf"
        )
        assert answer.status_code == status
        assert answer["Content-Type"] == "application/json"
        assert answer.json()["error"]["code"]


def _i9():
    return i9(first_name="José", last_name="Núñez", duplicate_reason="rehire")


# --- The staff download ------------------------------------------------------------------------


@pytest.fixture
def vera_with_ssa(directory, vera):
    """vera, the USCIS status verifier, once SSA shares its identity data with USCIS (the SSN's
    last four a notice shows), as in the demo's SSA-USCIS matching agreement."""
    user = vera
    admin = UserFactory(username="ursula", unit=directory["uscis_monitoring"], roles=[Role.ADMIN])
    today = timezone.localdate()
    agreement = agreement_create(
        actor=admin,
        reference="ssa-uscis-everify",
        title="SSA to USCIS for E-Verify",
        kind=AgreementKind.MOU,
        source_agency=directory["ssa"],
        recipient_agency=directory["uscis"],
        purpose="Employment eligibility verification.",
        legal_authority="IIRIRA section 404",
        routine_use="SSA routine use for E-Verify",
        scope={"ssa_identity": ["view"]},
        effective_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=300),
    )
    agreement_activate(actor=admin, agreement=agreement)
    grant_create(actor=admin, user=user, role=Role.STATUS_VERIFIER, agreement=agreement)
    return user


def test_staff_download_the_fan_in_a_chosen_language_audited_and_accounted(
    employer, ssa, login, vera_with_ssa
):
    case = mismatch(employer)
    url = reverse("verification:case-notice", args=[case.pk, "fan"])
    client = login(vera_with_ssa)
    response = client.get(url, {"language": "es"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="fan-{case.pk}-es.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert "Aviso de acción adicional" in text_of(response.content)
    printed = AuditEvent.objects.filter(action="vcase.notice_printed").latest("id")
    assert printed.actor_id == vera_with_ssa.pk
    assert printed.detail["sha256"] == hashlib.sha256(response.content).hexdigest()
    read = AuditEvent.objects.filter(action="vcase.viewed").latest("id")
    assert read.detail["notice"] == "fan"
    assert read.detail["language"] == "es"
    # The case page offers the notices, in the reader's language (here Spanish).
    page = client.get(
        reverse("verification:case-detail", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="es"
    )
    body = page.content.decode()
    assert "Avisos al trabajador" in body
    assert url in body
    assert reverse("verification:case-notice", args=[case.pk, "rdc"]) not in body  # not referred


def test_staff_get_a_clear_answer_for_a_bad_language_or_notice(employer, ssa, login, vera_with_ssa):
    case = mismatch(employer)
    client = login(vera_with_ssa)
    response = client.get(
        reverse("verification:case-notice", args=[case.pk, "fan"]), {"language": "zz"}
    )
    assert response.status_code == 400
    assert "language: Choose one of: en, es." in response.content.decode()
    response = client.get(reverse("verification:case-notice", args=[case.pk, "rdc"]))
    assert response.status_code == 409
    assert reverse("verification:case-notice", args=[case.pk, "fan"]).endswith("/fan.pdf")
    response = client.get(f"/verification/cases/{case.pk}/notices/passport.pdf")
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="vcase.notice_printed").exists()


@pytest.mark.parametrize("persona", ["vera", "petra"])
def test_a_reader_whose_agreements_withhold_what_the_notice_shows_cannot_print_it(
    request, employer, ssa, login, persona
):
    """A notice is the worker's: it cannot be minimised for the reader. A status verifier or a
    partner without SSA's data (the SSN's last four) is refused it; the refusal is audited and
    nothing is printed or accounted."""
    user = request.getfixturevalue(persona)
    hidden = hidden_fields(user, {"ssn_last4": CASE_FIELD_CATEGORIES["ssn_last4"]})
    assert hidden, "the reader's agreements must withhold something the notice prints"
    case = mismatch(employer)
    client = login(user)
    detail = client.get(reverse("verification:case-detail", args=[case.pk]))
    assert detail.status_code == 200  # she sees the case, minimised
    accounted = Disclosure.objects.count()
    response = client.get(reverse("verification:case-notice", args=[case.pk, "fan"]))
    assert response.status_code == 403
    assert "which your agreements do not cover" in response.content.decode()
    assert not AuditEvent.objects.filter(action="vcase.notice_printed").exists()
    refused = AuditEvent.objects.get(action="vcase.notice_refused")
    assert refused.detail == {"notice": "fan", "withheld": sorted(hidden)}
    assert Disclosure.objects.count() == accounted


# --- A new language -----------------------------------------------------------------------------

FRENCH = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: fr\n"

msgid "Further Action Notice"
msgstr "Avis de mesures complémentaires"

msgid "What happened"
msgstr "Ce qui s'est passé"
"""


def test_a_new_language_is_one_po_file(tmp_path, settings, employer, ssa):
    case = create(employer, first_name="John", last_name="Smith")
    with pytest.raises(ValidationFailed):
        render_fan(case, "fr")  # not offered yet
    po = tmp_path / "fr" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(FRENCH, encoding="utf-8")
    assert compile_all([tmp_path]) == [po.with_suffix(".mo")]
    # What the settings do at start-up, with the new directory among the catalogues.
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS, tmp_path]
    settings.LANGUAGES = languages_in(settings.LOCALE_PATHS)
    assert ("fr", "français") in settings.LANGUAGES
    assert validation.language("fr") == "fr"
    text = text_of(render_fan(case, "fr"))
    assert "Avis de mesures complémentaires" in text
    assert "Ce qui s'est passé" in text
    # Untranslated sentences fall back to English; Django's own French formats the dates.
    assert "Your employer used E-Verify" in text
    with translation.override("fr"):
        french_date = formats.date_format(case.tnc_issued_on, "DATE_FORMAT")
    with translation.override("en"):
        english_date = formats.date_format(case.tnc_issued_on, "DATE_FORMAT")
    assert french_date in text
    assert english_date not in text


# --- Scripts the vendored font lacks -------------------------------------------------------------


def han_font(path: Path) -> Path:
    """A font with two Han characters (squares), as a host's CJK font would have them."""
    chars = "李伟"
    names = [".notdef"] + [f"uni{ord(c):04X}" for c in chars]
    pen = TTGlyphPen(None)
    pen.moveTo((100, 0))
    pen.lineTo((100, 700))
    pen.lineTo((800, 700))
    pen.lineTo((800, 0))
    pen.closePath()
    square = pen.glyph()
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in chars})
    fb.setupGlyf(dict.fromkeys(names, square))
    fb.setupHorizontalMetrics(dict.fromkeys(names, (900, 100)))
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Test Han", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    fb.setupPost()
    fb.save(str(path))
    return path


def test_a_name_no_font_can_print_is_refused_not_printed_blank(
    employer, ssa, api_client_for, tmp_path, settings
):
    """DejaVu has no Han characters: the notice is refused with a clear answer rather than
    printed with a blank where the worker's name is; a host's fallback font prints it."""
    case = mismatch_named(employer, "李", "伟")
    with pytest.raises(Unprintable):
        render_fan(case, "en")
    response = api_client_for(employer).get(f"/api/v1/cases/{case.pk}/notices/fan.pdf")
    assert response.status_code == 409
    assert "CROSSCHECK_NOTICE_FALLBACK_FONTS" in response.json()["error"]["message"]
    assert "李" not in response.content.decode()  # the answer does not repeat the name
    settings.NOTICE_FALLBACK_FONTS = [str(han_font(tmp_path / "han.ttf"))]
    text = text_of(render_fan(case, "en"))
    assert "李 伟" in text


def mismatch_named(employer, first, last):
    case = create(employer, first_name=first, last_name=last)
    assert case.status == CaseStatus.TENTATIVE_NONCONFIRMATION
    return case
