"""Confirmations in the USWDS modal (core/static/js/app.js): a destructive post asks first.

The modal opens on the button, holds the focus, closes on Esc with nothing posted, and posts the
form (with its button's name and value) on confirm. axe finds nothing serious in it. Without
JavaScript there is no modal: the form posts at once, and the server's checks stay the guard.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from cases.models import Case, CaseStatus, Closure
from tests.cases.test_browser import _NO_BROWSER, browser  # noqa: F401 - the shared fixture
from tests.cases.test_walkthrough import AXE, AXE_JS
from tests.conftest import current_code
from tests.factories import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(_NO_BROWSER, reason="Debian's chromium is not installed (CI would fail)"),
]

IN_MODAL_JS = (
    "document.activeElement && document.activeElement.closest('.usa-modal-wrapper') !== null"
)


def _signed_in(chromium: Any, base: str, user: Any, *, js: bool = True) -> Any:
    context = chromium.new_context(
        viewport={"width": 1440, "height": 900}, base_url=base, java_script_enabled=js
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    page.get_by_label("Verification code").fill(current_code(user))
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    return page


def test_the_modal_asks_esc_cancels_and_confirm_posts(browser, live_server, make_case, alice):  # noqa: F811
    case = make_case()
    page = _signed_in(browser, live_server.url, alice)
    errors: list[str] = []  # a CSP refusal (an inline style or script) is a console error
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"/cases/{case.pk}/")
    page.get_by_label("Dismiss as false positive — reason").select_option("clerical")
    dismiss = page.get_by_role("button", name="Dismiss", exact=True)
    dismiss.click()

    dialog = page.get_by_role("dialog")
    shown = dialog.locator(".usa-modal")  # the wrapper itself has no box of its own
    expect(shown).to_be_visible()
    expect(dialog).to_contain_text("Dismiss as a false positive?")
    expect(dialog).to_contain_text(case.number)
    # The modal fades in: axe measures contrast once it is fully shown (on a busy machine it caught
    # the button half faded).
    page.wait_for_function(
        "() => document.getAnimations().every(a => a.playState !== 'running')", timeout=10_000
    )
    page.evaluate(AXE.read_text())
    assert page.evaluate(AXE_JS) == []
    # The focus is held inside the modal, whatever Tab does.
    assert page.evaluate(IN_MODAL_JS)
    for _ in range(5):
        page.keyboard.press("Tab")
        assert page.evaluate(IN_MODAL_JS)

    page.keyboard.press("Escape")
    expect(shown).to_be_hidden()
    case.refresh_from_db()
    assert (case.status, case.closure) == (CaseStatus.FLAGGED, "")
    # Back on the button that asked, from where the keyboard asks again.
    assert page.evaluate("document.activeElement.textContent.trim()") == "Dismiss"
    page.keyboard.press("Enter")
    expect(shown).to_be_visible()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Dismiss", exact=True).click()
    case.refresh_from_db()
    assert (case.closure, case.dismiss_reason) == (Closure.FALSE_POSITIVE, "clerical")
    assert errors == []


def test_a_form_the_browser_refuses_opens_no_modal(browser, live_server, make_case, alice):  # noqa: F811
    case = make_case()
    page = _signed_in(browser, live_server.url, alice)
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("button", name="Dismiss", exact=True).click()  # no reason chosen
    expect(page.locator("#cc-confirm .usa-modal")).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "dismiss-reason"


def test_without_javascript_the_form_posts_at_once(browser, live_server, make_case, alice):  # noqa: F811
    case = make_case()
    page = _signed_in(browser, live_server.url, alice, js=False)
    page.goto(f"/cases/{case.pk}/")
    page.get_by_label("Dismiss as false positive — reason").select_option("clerical")
    with page.expect_navigation():
        page.get_by_role("button", name="Dismiss", exact=True).click()
    case.refresh_from_db()
    assert case.closure == Closure.FALSE_POSITIVE
    assert Case.objects.filter(pk=case.pk, dismiss_reason="clerical").exists()
