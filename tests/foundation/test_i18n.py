"""Translations: English and Spanish complete, a new language is one .po file, the catalogues
compile with Babel (no GNU gettext), and the screens follow the reader's language."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.urls import reverse

from config.translations import CatalogueError, compile_catalogue

LOCALE = Path(settings.BASE_DIR) / "locale"


def catalogue(code: str):
    with (LOCALE / code / "LC_MESSAGES" / "django.po").open("rb") as fh:
        return read_po(fh, locale=code)


def test_english_and_spanish_are_offered_english_first():
    assert settings.LANGUAGES == [("en", "English"), ("es", "español")]


def test_the_spanish_catalogue_is_complete_and_matches_the_english_one():
    spanish, english = catalogue("es"), catalogue("en")
    ids = {m.id for m in spanish if m.id}
    assert ids == {m.id for m in english if m.id}
    assert len(ids) > 80
    assert [m.id for m in spanish if m.id and (not m.string or m.fuzzy)] == []
    assert not spanish.fuzzy
    assert [e for _m, errors in spanish.check() for e in errors] == []  # placeholders kept


def test_a_broken_catalogue_stops_the_build_with_its_line_and_keeps_the_old_one(tmp_path):
    po = tmp_path / "de" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, python-format\nmsgid "Contact %(agency)s"\nmsgstr "Kontakt %(behoerde)s"\n',
        encoding="utf-8",
    )
    mo = po.with_suffix(".mo")
    mo.write_bytes(b"previous")
    with pytest.raises(CatalogueError) as caught:
        compile_catalogue(po)
    assert f"{po}:6:" in str(caught.value)
    assert "behoerde" in str(caught.value)
    assert mo.read_bytes() == b"previous"


@pytest.mark.django_db
def test_the_screens_follow_the_readers_language(client):
    english = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    spanish = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="es")
    assert english["Content-Language"] == "en"
    assert spanish["Content-Language"] == "es"
