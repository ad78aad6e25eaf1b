"""The layout's navigation: grouped menus, one current page, and a side navigation in sections
of several pages."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

SIDENAV = re.compile(r'<nav class="cc-sidenav" aria-label="([^"]+)">(.*?)</nav>', re.S)


def _sidenav(html: str) -> tuple[str, list[str], list[str]]:
    """The side navigation's label, its entries, and the entries marked current."""
    found = SIDENAV.search(html)
    if found is None:
        return "", [], []
    label, body = found.groups()
    entries = re.findall(r"<a [^>]*>([^<]+)</a>", body)
    current = re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', body)
    return label, entries, current


def test_an_oversight_page_shows_its_section_with_the_one_current_page(login, sam):
    html = login(sam).get("/audit/review/").content.decode()
    label, entries, current = _sidenav(html)
    assert label == "Oversight pages"
    assert entries == ["Audit trail", "Audit review", "Chain status", "Break-glass"]
    assert current == ["Audit review"]  # not "Audit trail" too, whose /audit/ it starts with
    assert html.count('aria-current="page"') == 2  # the header's menu and the side navigation


def test_the_admin_finds_every_privacy_page_beside_each_one(login, adam):
    label, entries, current = _sidenav(login(adam).get("/privacy/agreements/").content.decode())
    assert label == "Privacy and access pages"
    assert {"Users and grants", "Retention"} <= set(entries)
    assert current == ["Agreements"]


def test_casework_keeps_its_full_width(login, alice):
    assert _sidenav(login(alice).get("/cases/").content.decode()) == ("", [], [])
