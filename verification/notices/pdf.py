"""HTML made from a notice's template, laid out as a PDF with fpdf2 in a Unicode font.

The template gives the words (translated by Django's i18n) and a small subset of HTML (headings,
paragraphs, bold, lists, tables); fpdf2 lays it out. The font is DejaVu Sans, vendored with its
licence, so accents and Greek, Cyrillic and other scripts print without a system font.
"""

from __future__ import annotations

import html as htmllib
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.utils.html import strip_tags
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import TextStyle

from core.errors import Conflict

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
# Headings in dark blue-grey, sized for a letter page (fpdf2's defaults are dark red and larger).
_HEADING = "#1f3a5f"
TAG_STYLES = {
    "h1": TextStyle(font_style="B", font_size_pt=17, color=_HEADING, t_margin=2, b_margin=3),
    "h2": TextStyle(font_style="B", font_size_pt=12.5, color=_HEADING, t_margin=4, b_margin=1),
}


class Unprintable(Conflict):
    """The notice holds characters no configured font has (a name in a script DejaVu lacks)."""


def _fallback_fonts() -> list[Path]:
    return [Path(p) for p in getattr(settings, "NOTICE_FALLBACK_FONTS", [])]


@lru_cache(maxsize=16)
def _codepoints(path: Path) -> frozenset[int]:
    font = TTFont(str(path), lazy=True, fontNumber=0)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


def _check_printable(html: str) -> None:
    """Refuse a notice that would print blanks where a name is (never silently drop letters)."""
    covered = _codepoints(FONT_DIR / "DejaVuSans.ttf").union(
        *(_codepoints(p) for p in _fallback_fonts())
    )
    text = htmllib.unescape(strip_tags(html))
    missing = {ch for ch in text if not ch.isspace() and ord(ch) not in covered}
    if missing:
        # The characters are part of a person's name: the message says how many, not which.
        raise Unprintable(
            f"The notice holds {len(missing)} character(s) that no notice font can print. "
            "Add a font that covers them to CROSSCHECK_NOTICE_FALLBACK_FONTS."
        )


class _NoticePdf(FPDF):
    """A US Letter page with the notice's reference and page number in the footer."""

    def __init__(self, *, footer_text: str) -> None:
        super().__init__(format="letter", unit="mm")
        self._footer_text = footer_text
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        fallbacks = []
        for n, path in enumerate(_fallback_fonts()):
            for style in ("", "B"):  # the same file serves bold text (no synthetic bold)
                self.add_font(f"fallback{n}", style, str(path))
            fallbacks.append(f"fallback{n}")
        if fallbacks:
            self.set_fallback_fonts(fallbacks)
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, size=8)
        self.set_text_color(90)
        self.cell(0, 6, f"{self._footer_text} · {self.page_no()}/{{nb}}", align="C")


def html_to_pdf(
    html: str, *, title: str, language: str, footer_text: str, created: datetime
) -> bytes:
    """The PDF of `html` (the rendered notice template), with no personal data in its metadata.

    Unprintable (409) if a character has no glyph in DejaVu Sans or the configured fallbacks.
    """
    _check_printable(html + footer_text + title)
    pdf = _NoticePdf(footer_text=footer_text)
    pdf.set_title(title)
    pdf.set_lang(language)
    pdf.set_creator("Crosscheck")
    pdf.set_creation_date(created)
    pdf.add_page()
    pdf.set_font(FONT, size=10.5)
    pdf.write_html(
        html,
        font_family=FONT,
        table_line_separators=True,
        tag_styles=TAG_STYLES,
        warn_on_tags_not_matching=False,
    )
    return bytes(pdf.output())


def pdf_response(data: bytes, filename: str) -> HttpResponse:
    """A notice as a download: never cached (personal data), never sniffed, never scripted."""
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store"
    return response
