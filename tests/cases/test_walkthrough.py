"""Every persona of the demo world, every page, in Chromium: the homes' counts against their lists,
axe-core (WCAG 2.1 A/AA) with no serious or critical violation, no console error, no failed
request, and the keyboard: each page's first stops show a visible focus, the menus open by key.

The demo world is the one `make run` builds (`seed_demo`, `demo_world`), smaller. The README's
screenshots (docs/screenshots/) are taken here, so they never go stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page

from cases.models import Case
from privacy.demo import DEMO_PASSWORD, PERSONAS
from privacy.models import User
from tests.cases.test_browser import _NO_BROWSER, browser  # noqa: F401 - the shared fixture
from tests.conftest import current_code

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / "artifacts"
ACTIVE = [p.username for p in PERSONAS if p.username != "eddie"]  # eddie's agreement expired

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(_NO_BROWSER, reason="Debian's chromium is not installed (CI would fail)"),
]

# Counts the rows of the list a page shows and finds its next page: table rows (not the
# "nothing here" row nor the "more" row) and review items.
ROWS_JS = """() => {
  let n = 0;
  const list = document.querySelector('main [data-list]');
  if (list) n = list.querySelectorAll(':scope > li:not(.muted), :scope > tbody > tr').length;
  else document.querySelectorAll('main table tbody tr').forEach(r => {
    if (!r.querySelector('td[colspan]') && r.id !== 'more-row') n++;
  });
  if (!list) n += document.querySelectorAll('main ul.review-list > li:not(.muted)').length;
  const next = [...document.querySelectorAll('main a')].find(
    a => /^(Next|Next page →|Older events)$/.test(a.textContent.trim()));
  return [n, next ? next.href : null];
}"""

AXE_JS = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'section508']},
  });
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
}"""

FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'nothing focused';
  const s = getComputedStyle(el);
  const visible = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
  return visible ? '' : `${el.tagName}.${el.className} has no visible focus`;
}"""


class Watch:
    """Console errors, page errors and failed requests of one browser page."""

    def __init__(self, page: Page, origin: str) -> None:
        self.problems: list[str] = []
        page.on(
            "console",
            lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on(
            "requestfailed",
            lambda r: self.problems.append(f"failed: {r.url} {r.failure}")
            if "download" not in (r.failure or "")
            else None,
        )
        page.on(
            "response",
            lambda r: self.problems.append(f"{r.status}: {r.url}")
            if r.status >= 400 and r.url.startswith(origin)
            else None,
        )

    def take(self) -> list[str]:
        out, self.problems = self.problems, []
        return out


def _sign_in(chromium: Any, base: str, username: str, width: int = 1440) -> tuple[Page, Watch]:
    context = chromium.new_context(viewport={"width": width, "height": 900}, base_url=base)
    page = context.new_page()
    page.set_default_timeout(20000)
    watch = Watch(page, base)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/2fa/verify/**")
    page.get_by_label("Verification code").fill(current_code(User.objects.get(username=username)))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/" not in url)
    return page, watch


def _check(page: Page, watch: Watch, url: str, problems: list[str]) -> None:
    """Open `url`; record axe's serious/critical violations, errors, failed requests, focus."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.evaluate(AXE.read_text())  # evaluated, not a <script>: the page's CSP stays as it is
    problems += [f"{url}: axe {v}" for v in page.evaluate(AXE_JS)]
    for _ in range(3):
        page.keyboard.press("Tab")
        missing = page.evaluate(FOCUS_JS)
        if missing:
            problems.append(f"{url}: {missing}")
            break
    problems += [f"{url}: {p}" for p in watch.take()]


def _list_rows(page: Page, url: str) -> int:
    total, pages = 0, 0
    next_url: str | None = url
    while next_url and pages < 40:
        page.goto(next_url)
        n, next_url = page.evaluate(ROWS_JS)
        total += n
        pages += 1
    return total


def _pages(page: Page) -> list[str]:
    """Every page the persona's menus lead to."""
    hrefs = page.eval_on_selector_all(
        "nav.usa-nav a[href]", "links => links.map(a => a.getAttribute('href'))"
    )
    return sorted({h for h in hrefs if h.startswith("/")})


@pytest.fixture
def demo_world(live_server: Any) -> str:
    call_command("seed_demo", verbosity=0)
    # One process: forking from a process with threads (the live server, Playwright's driver)
    # can leave a child holding a lock forever (seen hanging in CI).
    call_command("demo_world", cases=1500, employers=25, workers=1, verbosity=0)
    return str(live_server.url)


def test_every_persona_sees_real_counts_and_every_page_passes_axe(browser, demo_world):  # noqa: F811
    problems: list[str] = []
    for username in ACTIVE:
        page, watch = _sign_in(browser, demo_world, username)
        _check(page, watch, "/", problems)
        tiles = page.eval_on_selector_all(
            "a[data-count]",
            "links => links.map(a => [a.textContent.trim(), +a.dataset.count, a.getAttribute('href')])",
        )
        assert tiles, f"{username}'s home shows no counts"
        assert any(count for _, count, _ in tiles), f"{username}'s home shows only zeros: {tiles}"
        for label, count, href in tiles:
            rows = _list_rows(page, href)
            assert rows == count, (
                f"{username}: '{label}' says {count}, its list has {rows} ({href})"
            )
        watch.take()
        for url in _pages(page):
            _check(page, watch, url, problems)
        if username in ("alice", "sam"):
            case = Case.objects.visible_to(User.objects.get(username=username)).first()
            assert case is not None
            _check(page, watch, f"/cases/{case.pk}/", problems)
        page.context.close()
    assert problems == [], "\n".join(problems)


def test_the_menus_and_the_case_page_work_from_the_keyboard(browser, demo_world):  # noqa: F811
    page, watch = _sign_in(browser, demo_world, "sam")
    page.goto("/")
    menu = page.get_by_role("button", name="Oversight")
    menu.focus()
    page.keyboard.press("Enter")
    assert page.locator("#nav-oversight").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#nav-oversight') !== null")
    assert page.evaluate(FOCUS_JS) == ""
    page.keyboard.press("Escape")

    case = Case.objects.exclude(proposed_closure="").first()
    assert case is not None, "the demo world stages cases awaiting sign-off"
    page.goto(f"/cases/{case.pk}/")
    assert page.locator(".usa-step-indicator__segment--complete").count() == 3
    page.keyboard.press("?")
    assert page.locator("#dlg-keys").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("v")  # the next action: sign off
    assert page.evaluate("document.activeElement.id") == "id_decision"
    assert watch.take() == []


def test_screenshots_for_the_readme(browser, demo_world):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(exist_ok=True)
    alice, _ = _sign_in(browser, demo_world, "alice")
    alice.goto("/cases/")
    alice.screenshot(path=str(SHOTS / "queue.png"))
    mine = Case.objects.filter(assignee__username="alice", status="in_triage").order_by("id")
    alice.goto(f"/cases/{mine.first().pk}/")
    alice.screenshot(path=str(SHOTS / "case.png"))
    sam, _ = _sign_in(browser, demo_world, "sam")
    sam.goto("/")
    sam.screenshot(path=str(SHOTS / "supervisor-home.png"), full_page=True)
    for width in (1280, 1920):  # the charts at both widths, for a look (artifacts/, not the README)
        sam.set_viewport_size({"width": width, "height": 1000})
        sam.goto("/cases/dashboard/")
        sam.wait_for_load_state("networkidle")
        sam.screenshot(path=str(ARTIFACTS / f"charts-{width}.png"), full_page=True)
        sizes = sam.eval_on_selector_all(
            "canvas", "cs => cs.map(c => [c.clientWidth, c.clientHeight])"
        )
        assert sizes, "the charts page draws its charts"
        assert all(w >= 300 and 200 <= h <= 400 for w, h in sizes), (width, sizes)
