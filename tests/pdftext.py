"""The text of a PDF as a reader's copy-and-paste gives it (pypdf), for the tests of notices."""

from __future__ import annotations

import io

import pypdf


def pdf_text(pdf: bytes) -> str:
    """Every page's text, words separated by one space: lines wrap where the page ends them."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())
