"""Browser tests: Playwright driving Debian's Chromium against the live server.

Sign-in goes through the real password and 2FA steps. Screenshots of the queue and a case are
kept under artifacts/ (git-ignored) for CI. Accessibility basics: every control is labelled,
focus is visible, and the whole triage flow works from the keyboard alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from cases.models import Case, CaseStatus, Closure
from privacy.models import Role
from tests.cases.conftest import grant_under_agreement
from tests.conftest import current_code
from tests.factories import TEST_PASSWORD, UserFactory
from tests.pdftext import pdf_text

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

# Under CI a missing browser fails the run (.ci/run installs Debian's chromium); elsewhere the
# browser tests are skipped with the reason, so a laptop without Chromium can run the rest.
_NO_BROWSER = not Path(CHROMIUM).exists() and os.environ.get("CI", "").lower() != "true"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(_NO_BROWSER, reason="Debian's chromium is not installed (CI would fail)"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian's chromium package"
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
    # browser steps are ordinary blocking calls, so Django's async-safety guard is relaxed while
    # these tests run, and only then.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            yield b
            b.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def open_page(browser, live_server):
    """`open_page(user)`: a new browser context signed in as `user` through password and 2FA."""
    contexts = []

    def _open(user) -> Any:
        context = browser.new_context(
            viewport={"width": 1440, "height": 900}, base_url=live_server.url
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/2fa/verify/**")
        page.get_by_label("Verification code").fill(current_code(user))
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/accounts/" not in url)
        return page

    yield _open
    for c in contexts:
        c.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def press(page, name: str) -> None:
    """Click a button that posts a form and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def confirm(page, name: str) -> None:
    """Click a button that asks first (app.js, the USWDS modal), then confirm in the modal and
    wait for the page the form leads to."""
    page.get_by_role("button", name=name, exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator(".usa-modal")).to_be_visible()
    with page.expect_navigation():
        dialog.get_by_role("button", name=name, exact=True).click()


def _rows(page) -> int:
    return page.locator("#queue-table tbody tr.case-row").count()


def test_filter_then_triage_by_keyboard_alone(make_case, alice, open_page):
    cases = [
        make_case(last=name, severity=sev)
        for name, sev in [
            ("Okafor", "high"),
            ("Nguyen", "medium"),
            ("Haddad", "low"),
            ("Silva", "high"),
        ]
    ]
    page = open_page(alice)
    page.goto("/cases/")
    assert _rows(page) == 4
    _shot(page, "queue.png")

    # "/" focuses the search; a filter narrows the list in place (htmx), the URL follows.
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "f-q"
    page.keyboard.type("Nguyen")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-table tbody tr.case-row")).to_have_count(1)
    assert "q=Nguyen" in page.url
    page.keyboard.press("Escape")
    page.goto("/cases/")

    # j/k move the current row, x selects, d dismisses the selection with a coded reason.
    expect(page.locator("#queue-table tbody tr.case-row")).to_have_count(4)
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.locator("tr.current").get_attribute("data-id") == str(
        Case.objects.visible_to(alice).order_by("priority", "id").first().pk
    )
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.locator("#selection-count").inner_text() == "2 selected"
    selected = [
        int(x)
        for x in page.locator("tr.selected").evaluate_all("rows => rows.map(r => r.dataset.id)")
    ]
    page.keyboard.press("d")
    assert page.evaluate("document.activeElement.id") == "q-reason"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # "Clerical or keying error"
    page.keyboard.press("Tab")
    page.keyboard.type("keying error on the I-9")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-table tbody tr.case-row")).to_have_count(2)
    assert "Dismiss as false positive: 2 case(s)." in page.locator("#queue-status").inner_text()
    assert sorted(
        Case.objects.filter(closure=Closure.FALSE_POSITIVE).values_list("pk", flat=True)
    ) == sorted(selected)
    assert set(Case.objects.filter(pk__in=selected).values_list("dismiss_reason", flat=True)) == {
        "clerical"
    }

    # a assigns the current case to me; o opens it.
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-status")).to_contain_text("Assign: 1 case(s).")
    assert Case.objects.filter(assignee=alice).count() == 1
    page.keyboard.press("?")
    assert page.locator("#dlg-keys").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("o")
    page.wait_for_url("**/cases/*/")
    assert {c.number for c in cases} & {page.locator("h1").inner_text().split()[0]}


def test_bulk_dismiss_with_the_mouse(make_case, alice, open_page):
    cases = [make_case() for _ in range(3)]
    page = open_page(alice)
    page.goto("/cases/")
    for c in cases[:2]:
        page.get_by_label(f"Select case {c.number}").check()
    page.get_by_label("Action", exact=True).select_option("dismiss")
    page.get_by_label("Dismiss reason").select_option("name_variant")
    page.get_by_role("button", name="Apply", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("applies to the 2 selected cases")
    assert Case.objects.filter(closure=Closure.FALSE_POSITIVE).count() == 0
    dialog.get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("#queue-table tbody tr.case-row")).to_have_count(1)
    assert Case.objects.filter(closure=Closure.FALSE_POSITIVE).count() == 2


def test_open_a_case_and_see_the_disagreeing_fields_marked(make_case, alice, open_page):
    case = make_case(last="Garcia")
    page = open_page(alice)
    page.goto(f"/cases/{case.pk}/")
    marked = page.locator("table.compare td.mismatch")
    assert marked.count() == 2  # submitted and reference cells of last_name
    assert page.locator('td.mismatch[data-field="last_name"]').inner_text().endswith("GARCIA")
    assert page.locator('td[data-field="first_name"]').get_attribute("class") == ""
    assert page.locator("tr.row-mismatch th").inner_text().startswith("last_name")
    _shot(page, "case.png")


def test_a_case_through_the_due_process_gate(make_case, alice, sam, directory, open_page):
    # The notice shows SSA's values as they are, for the worker: whoever prints it holds SSA
    # identity data under an agreement (tests/cases/test_reference_disclosures.py).
    grant_under_agreement(directory, alice, source="ssa", scope={"ssa_identity": ["view"]})
    vic = UserFactory(username="vic", unit=directory["unit_a"], roles=[Role.ANALYST])
    case = make_case()
    agent = open_page(alice)
    agent.goto(f"/cases/{case.pk}/")
    press(agent, "Open investigation")
    assert agent.locator("#case-status").inner_text() == "Investigating"
    agent.get_by_label("Add a colleague").select_option(str(vic.pk))
    press(agent, "Add")
    press(agent, "Request independent verification")
    # The agent cannot verify their own match: the service refuses.
    agent.get_by_label("What you checked").fill("I checked it myself")
    press(agent, "Verify the match")
    assert "different user" in agent.locator(".messages").inner_text()

    verifier = open_page(vic)
    verifier.goto(f"/cases/{case.pk}/")
    verifier.get_by_label("What you checked").fill("Called SSA; the Numident record was confirmed.")
    press(verifier, "Verify the match")

    agent.goto(f"/cases/{case.pk}/")
    press(agent, "Generate notice to the person")
    assert agent.locator("#case-status").inner_text() == "Notice issued"
    # The notice is a PDF in the person's language (English here), downloaded to print.
    with agent.expect_download() as download:
        agent.get_by_role("link", name="Print the notice").click()
    assert download.value.suggested_filename == f"notice-{case.number}-en.pdf"
    assert "right to contest" in pdf_text(Path(download.value.path()).read_bytes())
    agent.get_by_label("Delivered by").select_option("certified_mail")
    press(agent, "Record delivery")
    assert agent.locator("#case-status").inner_text() == "Contest window"
    # Too early: the contest window runs 30 days.
    confirm(agent, "Propose for sign-off")
    assert "contest window runs until" in agent.locator(".messages").inner_text()
    press(agent, "Record a contest from the person")

    supervisor = open_page(sam)
    supervisor.goto(f"/cases/{case.pk}/")
    supervisor.get_by_label("Contest outcome").select_option("upheld")
    press(supervisor, "Decide contest")

    agent.goto(f"/cases/{case.pk}/")
    agent.get_by_label("Adverse disposition").select_option(Closure.ADMINISTRATIVE_ACTION)
    confirm(agent, "Propose for sign-off")
    assert "proposed for sign-off" in agent.locator(".messages").inner_text()

    supervisor.goto(f"/cases/{case.pk}/")
    supervisor.get_by_label("Decision").select_option("approve")
    confirm(supervisor, "Record sign-off")
    case.refresh_from_db()
    assert (case.status, case.closure, case.signed_off_by, case.verified_by) == (
        CaseStatus.CLOSED,
        Closure.ADMINISTRATIVE_ACTION,
        sam,
        vic,
    )
    _shot(supervisor, "case-closed.png")


def test_controls_are_labelled_and_focus_is_visible(make_case, alice, open_page):
    make_case()
    page = open_page(alice)
    for url in ["/cases/", f"/cases/{Case.objects.get().pk}/"]:
        page.goto(url)
        unlabelled = page.evaluate(
            """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
                 .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                 .map(el => el.name || el.id)"""
        )
        assert unlabelled == [], url
    page.goto("/cases/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    page.keyboard.press("j")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") not in (
        "",
        "none",
    )


def test_due_soon_is_highlighted(make_case, alice, open_page):
    case = make_case()
    Case.objects.filter(pk=case.pk).update(due_date=timezone.localdate() - timedelta(days=1))
    page = open_page(alice)
    page.goto("/cases/")
    assert "overdue" in page.locator(f'tr[data-id="{case.pk}"] td.due').get_attribute("class")
