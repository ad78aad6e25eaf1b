"""Notices to workers, as PDFs in the worker's language (see `documents`)."""

from verification.notices.documents import (
    NOTICE_FIELDS,
    NOTICE_KINDS,
    Notice,
    notice_language,
    notices_available,
    pick_language,
    render_closure,
    render_fan,
    render_notice,
    render_rdc,
)
from verification.notices.pdf import html_to_pdf, pdf_response

__all__ = [
    "NOTICE_FIELDS",
    "NOTICE_KINDS",
    "Notice",
    "html_to_pdf",
    "notice_language",
    "notices_available",
    "pdf_response",
    "pick_language",
    "render_closure",
    "render_fan",
    "render_notice",
    "render_rdc",
]
