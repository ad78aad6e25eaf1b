"""Compile the translation catalogues (locale/<code>/LC_MESSAGES/django.po -> .mo) with Babel.

Babel is pure Python, so `make install` needs no GNU gettext (`msgfmt`): `make run` still needs
nothing but Python. A catalogue is compiled when its .mo is missing or older than its .po.
A broken catalogue (a placeholder missing from a translation, a syntax error) stops the build
with its file and line, and leaves the previous .mo as it was.

    python -m config.translations [LOCALE_DIR ...]     # default: ./locale
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

DOMAIN = "django"


class CatalogueError(Exception):
    """A catalogue that cannot be compiled; the message names the file and line."""


def compile_catalogue(po: Path) -> Path:
    """Compile one .po next to itself; CatalogueError (file:line: reason) if it is broken."""
    locale = po.parent.parent.name
    try:
        with po.open("rb") as fh:
            catalogue = read_po(fh, locale=locale, abort_invalid=True)
    except (PoFileError, ValueError) as exc:
        raise CatalogueError(f"{po}: {exc}") from exc
    problems = [
        f"{po}:{message.lineno}: {error}"
        for message, errors in catalogue.check()
        for error in errors
    ]
    if problems:
        raise CatalogueError("\n".join(problems))
    mo = po.with_suffix(".mo")
    tmp = mo.with_suffix(".mo.tmp")
    with tmp.open("wb") as fh:
        write_mo(fh, catalogue, use_fuzzy=False)
    tmp.replace(mo)
    return mo


def compile_all(locale_dirs: Iterable[Path | str], *, force: bool = False) -> list[Path]:
    """Compile every stale catalogue of `locale_dirs`; the .mo files written."""
    written = []
    for base in locale_dirs:
        for po in sorted(Path(base).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            mo = po.with_suffix(".mo")
            if force or not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                written.append(compile_catalogue(po))
    return written


def main(argv: list[str]) -> int:
    dirs = argv or [str(Path(__file__).resolve().parent.parent / "locale")]
    try:
        written = compile_all(dirs)
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 1
    for mo in written:
        print(f"compiled {mo}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
