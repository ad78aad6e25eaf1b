"""HTML made from a notice's template, laid out as a PDF with fpdf2 in a Unicode font.

The template gives the words (translated by Django's i18n) and a small subset of HTML (headings,
paragraphs, bold, lists, tables); fpdf2 lays it out. The font is DejaVu Sans, vendored with its
licence, so accents and Greek, Cyrillic and other scripts print without a system font.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.http import HttpResponse
from fpdf import FPDF
from fpdf.fonts import TextStyle

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
# Headings in dark blue-grey, sized for a letter page (fpdf2's defaults are dark red and larger).
_HEADING = "#1f3a5f"
TAG_STYLES = {
    "h1": TextStyle(font_style="B", font_size_pt=17, color=_HEADING, t_margin=2, b_margin=3),
    "h2": TextStyle(font_style="B", font_size_pt=12.5, color=_HEADING, t_margin=4, b_margin=1),
}


class _NoticePdf(FPDF):
    """A US Letter page with the notice's reference and page number in the footer."""

    def __init__(self, *, footer_text: str) -> None:
        super().__init__(format="letter", unit="mm")
        self._footer_text = footer_text
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
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
    """The PDF of `html` (the rendered notice template), with no personal data in its metadata."""
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
