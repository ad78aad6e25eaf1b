"""The fuzzer's own check finds what it is meant to find (no database: plain objects)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.fuzz.apifuzz import identifier_forms, no_full_identifier_check

SEEDED = identifier_forms("521-87-4390", "A207418365")
check = no_full_identifier_check(SEEDED)


def _run(text: str | bytes, body: object = None) -> None:
    content = text if isinstance(text, bytes) else text.encode()
    check(None, SimpleNamespace(content=content), SimpleNamespace(body=body))


@pytest.mark.parametrize(
    "text",
    [
        '{"ssn": "521-87-4390"}',
        '{"ssn": "521874390"}',
        '{"a_number": "A207418365"}',
        '{"note": "A-Number 207418365 on file"}',
        '{"error": {"message": "SSN 521 87 4390 is taken"}}',
    ],
)
def test_a_full_seeded_identifier_in_any_form_fails_the_check(text):
    with pytest.raises(AssertionError, match="full identifier"):
        _run(text)


def test_an_identifier_the_request_sent_must_not_come_back_either():
    with pytest.raises(AssertionError):
        _run('{"fields": {"ssn": ["612-44-9087 is not valid"]}}', body={"ssn": "612-44-9087"})


@pytest.mark.parametrize(
    "text",
    [
        '{"ssn": "•••4390", "a_number": "•••8365"}',  # masked forms are fine
        '{"id": 15218743901}',  # digits inside a longer number are not an SSN
        '{"created_at": "2026-12-04T07:33:47.521874+00:00"}',
    ],
)
def test_masked_forms_and_other_numbers_pass(text):
    _run(text)


def test_a_binary_body_is_searched_not_decoded():
    """A notice's PDF is not UTF-8: reading it as text crashed the check (a false failure)."""
    pdf = b"%PDF-1.4\n%\xe9\xe2\xcf\xd3\n1 0 obj << /Title (Notice) >> endobj\n"
    _run(pdf)
    with pytest.raises(AssertionError, match="full identifier"):
        _run(pdf + b"BT (SSN 521-87-4390) Tj ET\n")
