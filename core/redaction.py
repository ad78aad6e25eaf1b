"""What a full identifier looks like in free text, and how to keep it out of logs and notes.

The policy of DESIGN.md: identifiers (SSN, A-Number, passport and document numbers) are stored
encrypted and shown masked; free text (notes, reasons, log lines, error messages) never holds one
in full. Two detectors:
- `IDENTIFIER_RUN`: nine digits with or without separators (an SSN, an A-Number's digits) or an
  A-Number with its letter. Safe for machine text (log lines): it needs nine digits.
- `document_tokens`: a run of 6 to 12 letters and digits shaped like a passport or document
  number (seven digits and a letter, or three digits and two letters: ZQ4H81K27, X1234567,
  EAD0001234). For people's free text only: hex ids in machine text would match it.
"""

from __future__ import annotations

import logging
import re

IDENTIFIER_RUN = re.compile(r"(?<!\d)(?:\d[\s.-]?){8}\d(?!\d)|\bA[\s-]?\d{7,9}\b", re.IGNORECASE)
_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{6,12}(?![A-Za-z0-9])")
REDACTED = "[redacted]"


def document_tokens(text: str) -> list[str]:
    """The runs of `text` shaped like a passport or document number."""
    found = []
    for token in _TOKEN.findall(text or ""):
        digits = sum(ch.isdigit() for ch in token)
        letters = len(token) - digits
        if (letters >= 1 and digits >= 7) or (letters >= 2 and digits >= 3):
            found.append(token)
    return found


def holds_identifier(text: str) -> bool:
    """True if people's free text holds something shaped like a full identifier."""
    return bool(IDENTIFIER_RUN.search(text or "")) or bool(document_tokens(text or ""))


def redact_digits(text: str) -> str:
    """`text` with every SSN- or A-Number-shaped run replaced by [redacted] (for machine text)."""
    return IDENTIFIER_RUN.sub(REDACTED, text)


class RedactIdentifiersFilter(logging.Filter):
    """Log records leave with no SSN- or A-Number-shaped run in their message.

    Django's own lines name the request path ("Not Found: /cases/123456789/"), and a path can
    carry what a person typed; so can an exception's text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_digits(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if redact_digits(text) != text:
                record.exc_text = redact_digits(
                    logging.Formatter().formatException(record.exc_info)
                )
                record.exc_info = None
        return True
