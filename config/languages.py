"""The languages Crosscheck speaks: one per catalogue under `locale/` (a new language is one .po file).

Read by the settings (LANGUAGES), so it imports nothing of Django that needs settings: the
language names come from Django's own table of languages.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.conf.locale import LANG_INFO
from django.utils.translation import to_language

DEFAULT_LANGUAGE = "en"


def languages_in(locale_paths: Iterable[Path | str]) -> list[tuple[str, str]]:
    """(code, name in that language) for each `<path>/<locale>/LC_MESSAGES/django.po`, English
    first, then by code; a locale Django has no name for is named by its code."""
    codes: set[str] = {DEFAULT_LANGUAGE}
    for base in locale_paths:
        for po in Path(base).glob("*/LC_MESSAGES/django.po"):
            codes.add(to_language(po.parent.parent.name))
    ordered = sorted(codes, key=lambda c: (c != DEFAULT_LANGUAGE, c))
    return [(c, str(LANG_INFO.get(c, {}).get("name_local", c))) for c in ordered]
