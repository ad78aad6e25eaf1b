"""Validation of every I-9 field; property-based for SSN, A-Number, dates and names."""

import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verification import validation
from verification.validation import FieldInvalid

digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


def ssn_is_valid(d: str) -> bool:
    return (
        d[:3] not in ("000", "666") and not d.startswith("9") and d[3:5] != "00" and d[5:] != "0000"
    )


@given(digits)
def test_ssn_accepts_exactly_the_issuable_numbers(d):
    if ssn_is_valid(d):
        assert validation.ssn(d) == d
        assert validation.ssn(f"{d[:3]}-{d[3:5]}-{d[5:]}") == d
    else:
        with pytest.raises(FieldInvalid):
            validation.ssn(d)


SSN_MESSAGES = set()


@given(st.text(max_size=30))
def test_ssn_never_fails_other_than_field_invalid_and_never_echoes_input(text):
    try:
        validation.ssn(text)
    except FieldInvalid as exc:
        SSN_MESSAGES.add(str(exc))
        assert len(SSN_MESSAGES) <= 3  # fixed messages: the input is never echoed


@given(
    st.text(alphabet="0123456789", min_size=7, max_size=9), st.sampled_from(["", "A", "a", "A-"])
)
def test_a_number_is_7_to_9_digits_stored_as_9(d, prefix):
    if int(d) == 0:
        with pytest.raises(FieldInvalid):
            validation.a_number(prefix + d)
    else:
        assert validation.a_number(prefix + d) == d.zfill(9)


@given(
    st.one_of(
        st.text(alphabet="0123456789", max_size=6),
        st.text(alphabet="0123456789", min_size=10, max_size=14),
        st.text(max_size=20),
    )
)
def test_a_number_refuses_other_shapes(text):
    cleaned = text.strip().replace(" ", "")
    body = cleaned[1:] if cleaned[:1] in "Aa" and cleaned[:1] else cleaned
    body = body.lstrip("-")
    if body.isdigit() and body.isascii() and 7 <= len(body) <= 9 and int(body):
        return
    with pytest.raises(FieldInvalid):
        validation.a_number(text)


letters = st.characters(categories=["Lu", "Ll", "Lo", "Lt"])
name_text = st.lists(
    st.one_of(letters, st.sampled_from([" ", "'", "-", "\u2019"])), min_size=1, max_size=40
).map("".join)


@given(name_text)
def test_names_of_any_script_are_stored_as_entered(value):
    acceptable = (
        any(unicodedata.category(c).startswith("L") for c in value) and value == value.strip()
    )
    if acceptable:
        assert validation.name(value) == value
    else:
        with pytest.raises(FieldInvalid):
            validation.name(value)


@given(name_text, st.sampled_from(list('0123456789.,;:!?@#$%&*()_+=/\\<>[]{}|~^"\t\n\x00')))
def test_names_with_digits_or_other_punctuation_are_refused(value, bad):
    with pytest.raises(FieldInvalid):
        validation.name(f"A{value}{bad}" if value.strip() == value else f"A{bad}")


@pytest.mark.parametrize(
    "value",
    [
        "José",
        "O'Brien",
        "Nguyễn",
        "Al-Hassan",
        "Søren",
        "محمد",
        "李",
        "Zoë-Ann Mary",
        "D\u2019Angelo",
        "Jose\u0301",
    ],
)
def test_real_names_are_accepted(value):
    assert validation.name(value) == value


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)))
def test_date_of_birth(dob):
    today, hire = date(2026, 11, 2), date(2026, 11, 2)
    age = hire.year - dob.year - ((hire.month, hire.day) < (dob.month, dob.day))
    if dob > today or age < 14:
        with pytest.raises(FieldInvalid):
            validation.date_of_birth(dob, hire_date=hire, today=today)
    else:
        assert validation.date_of_birth(dob, hire_date=hire, today=today) == dob


@settings(max_examples=200)
@given(
    st.dates(min_value=date(1980, 1, 1), max_value=date(2028, 12, 31)),
    st.dates(min_value=date(1980, 1, 1), max_value=date(2028, 12, 31)),
    st.dates(min_value=date(1980, 1, 1), max_value=date(2028, 12, 31)),
)
def test_i9_dates(offer, i9, hire):
    today = date(2026, 11, 2)
    errors = validation.i9_dates(
        offer_accepted_on=offer, i9_completed_on=i9, hire_date=hire, today=today
    )
    assert ("i9_completed_on" in errors) == (i9 > today or i9 < offer)
    assert ("offer_accepted_on" in errors) == (offer > today)
    assert ("hire_date" in errors) == (hire < validation.IRCA_START or (hire - today).days > 366)


@pytest.mark.parametrize(
    ("fn", "good", "bad"),
    [
        (validation.i94, ["12345678901", "123456789a1"], ["1234", "ABCDEFGHIJK", ""]),
        (validation.passport, ["X1234567", "p12345678"], ["12", "X-12345678901234", ""]),
        (validation.document_number, ["IOE0123456789", "D123-456-789"], ["12", "x" * 30, "ab$cd"]),
        (validation.country, ["MEX", "ind"], ["MX", "Mexico", "12A"]),
        (validation.ein, ["12-3456789", "123456789"], ["07-1234567", "1234567", "ab-cdefghi"]),
        (validation.naics, ["11", "111998"], ["1", "1119981", "abc"]),
        (validation.state, ["TX", "pr"], ["XX", "Texas", ""]),
        (validation.middle_initial, ["", "Q", "É"], ["QR", "1", "."]),
        (
            validation.other_last_names,
            ["", "Smith", "Smith, Garcia Lopez"],
            ["Smith, 42", "Smith,,"],
        ),
    ],
)
def test_each_other_field(fn, good, bad):
    for value in good:
        fn(value)
    for value in bad:
        with pytest.raises(FieldInvalid):
            fn(value)


@pytest.mark.parametrize(
    "text",
    ["SSN 521-87-4390", "521874390", "521 87 4390", "A012345678", "a-12345678", "521.87.4390"],
)
def test_free_text_refuses_identifiers(text):
    with pytest.raises(FieldInvalid):
        validation.free_text(f"Employee said {text} yesterday")


@pytest.mark.parametrize(
    "text", ["Quit on 2026-11-02", "Call 555-1234", "Ticket 12345678", "Moved to plant 3"]
)
def test_free_text_allows_other_numbers(text):
    assert validation.free_text(text) == text


def test_hire_date_more_than_a_year_away_is_refused():
    today = date(2026, 11, 2)
    errors = validation.i9_dates(
        offer_accepted_on=today,
        i9_completed_on=today,
        hire_date=today + timedelta(days=400),
        today=today,
    )
    assert "hire_date" in errors
