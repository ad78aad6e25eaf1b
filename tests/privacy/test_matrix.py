"""The authorization matrix: every route x every persona (see tests/privacy/authmatrix.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.conftest import sign_in
from tests.privacy.authmatrix import (
    ADMIN_LOGIN,
    LOGIN,
    PERSONAS,
    REDIRECT,
    USERS,
    Expected,
    Route,
    all_routes,
    api_key_hook,
    default_for,
    expectation_modules,
    expectations,
    owner_hint,
)


def _table() -> tuple[list[tuple[str, Any, Route]], list[str], list[str]]:
    """(cells to run, routes without an expectation, expectations naming no route)."""
    routes = all_routes()
    by_key = {r.key: r for r in routes}
    table = expectations()
    cells: list[tuple[str, Any, Route]] = []
    missing = []
    for info in routes:
        route = table.get(info.key) or default_for(info)
        if route is None:
            missing.append(f"{info.key!r} (/{info.route}) -> add it to {owner_hint(info)}")
        else:
            cells.append((info.key, info, route))
    stale = []
    for key, route in table.items():
        if key in by_key:
            continue
        base = key.split(" ")[0]
        if base in by_key:  # an extra cell of a route (e.g. "name POST")
            cells.append((key, by_key[base], route))
        else:
            stale.append(key)
    return cells, missing, stale


def test_every_route_of_the_project_has_an_expectation():
    _, missing, _ = _table()
    assert not missing, "Routes without an authorization-matrix entry:\n" + "\n".join(missing)


def test_no_expectation_names_a_route_that_does_not_exist():
    _, _, stale = _table()
    assert not stale, f"Expectations for routes that no longer exist: {stale}"


def _matches(expected: Expected, response: Any) -> bool:
    options = expected if isinstance(expected, tuple) else (expected,)
    location = response.get("Location", "") if response.status_code in (301, 302, 303) else ""
    for option in options:
        if option == LOGIN and location.startswith("/accounts/login/"):
            return True
        if option == ADMIN_LOGIN and location.startswith("/admin/login/"):
            return True
        if (
            option == REDIRECT
            and location
            and not location.startswith(("/accounts/login/", "/admin/login/"))
        ):
            return True
        if (
            isinstance(option, int)
            and response.status_code == option
            and not (option == 302 and not location)
        ):
            return True
    return False


def _describe(response: Any) -> str:
    location = response.get("Location", "")
    return f"{response.status_code}{' -> ' + location if location else ''}"


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


class _Rollback(Exception):
    def __init__(self, response: Any):
        self.response = response


@pytest.mark.slow
@pytest.mark.django_db
def test_the_authorization_matrix(
    alice,
    bob,
    sam,
    adam,
    audrey,
    petra,
    eddie,
    vera,
    sally,
    directory,
    partner_agreements,
    expired_agreements,
    django_capture_on_commit_callbacks,
):
    users = {
        "alice": alice,
        "bob": bob,
        "sam": sam,
        "adam": adam,
        "audrey": audrey,
        "petra": petra,
        "eddie": eddie,
        "vera": vera,
        "sally": sally,
    }
    world: dict[str, Any] = {
        **users,
        "directory": directory,
        "partner_agreements": partner_agreements,
        "expired_agreements": expired_agreements,
        "secrets": {},
    }
    for module in expectation_modules():
        if hasattr(module, "build"):
            module.build(world)
    api_key = api_key_hook()(world)
    clients = {name: sign_in(Client(), users[name]) for name in USERS}
    clients["anonymous"] = Client()
    clients["api_key"] = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")

    cells, missing, _ = _table()
    failures: list[str] = []
    shown: set[str] = set()
    checked = 0
    for key, info, route in cells:
        kwargs = route.kwargs(world) if callable(route.kwargs) else dict(route.kwargs)
        data = route.data(world) if callable(route.data) else dict(route.data)
        if info.name:
            try:
                url = reverse(info.name, kwargs=kwargs)
            except NoReverseMatch as exc:
                failures.append(f"{key}: cannot build its URL from {kwargs}: {exc}")
                continue
        elif route.path:
            url = route.path
        else:
            failures.append(f"{key}: an unnamed route needs Route(path=...)")
            continue
        if route.query:
            url = f"{url}?{route.query}"
        for persona in PERSONAS:
            expected = route.expected(persona)
            try:
                with transaction.atomic():
                    if route.method == "POST":
                        response = clients[persona].post(url, data)
                    else:
                        response = clients[persona].generic(route.method, url)
                    raise _Rollback(response)
            except _Rollback as done:
                response = done.response
            except Exception as exc:  # a crash is a failed cell, reported with the others
                failures.append(
                    f"{key} [{persona}] {route.method} {url}: expected {expected!r}, raised {exc!r}"
                )
                continue
            checked += 1
            if not _matches(expected, response):
                failures.append(
                    f"{key} [{persona}] {route.method} {url}: expected {expected!r}, got {_describe(response)}"
                )
            body = _body(response)
            for secret, audience in world["secrets"].items():
                if secret not in body:
                    continue
                if persona in audience:
                    shown.add(secret)
                else:
                    failures.append(
                        f"{key} [{persona}] {url}: leaks {secret!r} (status {response.status_code})"
                    )
    # A secret its own readers never see is written in a form no page uses: the leak check for it
    # would be empty. Each one must reach at least one of its readers somewhere.
    unseen = [s for s, audience in world["secrets"].items() if audience and s not in shown]
    failures += [
        f"secret {s!r} never shown to its readers: the leak check misses it" for s in unseen
    ]
    problems = failures + [f"no expectation: {m}" for m in missing]
    assert not problems, (
        f"{len(failures)} of {checked} cells differ, {len(missing)} routes lack an entry:\n"
        + "\n".join(problems)
    )
