"""The authorization matrix: every route of the project x every persona, each cell an expected answer.

How it is built
---------------

- Routes come from the URL resolver (`all_routes`), so a new route appears here by itself.
- Expectations come from tables, one per app: `tests/<app>/matrix.py` defines
  `EXPECTATIONS: dict[str, Route]` keyed by route key (the namespaced url name, e.g.
  "cases:queue"; for an unnamed pattern, its route string), and may define `build(world)` to
  add objects and secrets to the shared world, and `api_key(world) -> str` to issue the employer
  API key persona's key. The privacy, core, accounts and Django admin routes live in
  `tests/privacy/matrix_expectations.py`. A route with no entry in any table fails the test.
- Personas (STYLE.md rule 12, issue 6): anonymous; alice, analyst of the owning unit; bob,
  analyst of another unit; sam, supervisor; adam, admin; audrey, auditor; petra, partner under
  an active MOU; eddie, partner whose MOU expired yesterday; vera and sally, status verifiers at
  USCIS and SSA; an employer API key.
- Each cell runs one real request (signed-in personas passed 2FA through the real forms) inside a
  savepoint that is rolled back, so a POST cannot change the world for the next cell.
- Object routes are called on real objects that each app's `build` makes through its services
  (for cases: one of the persona's unit, one of another unit, one handed to another agency under
  an agreement, one outside any agreement; missing objects are extra cells, "<key> missing").
- Leaks: the world holds secrets (text only some personas may ever see): several per object,
  the person's name, date of birth and last four. Every response body (pages, counts, search
  results, exports and error pages alike) is checked: a persona outside a secret's audience must
  never receive it, and a secret with readers must reach one of them somewhere (else it is
  written in a form no page uses, and its check would be empty).

Expected answers: an int status (200, 401, 403, 404, 405, 429...), LOGIN (302 to the sign-in
page), ADMIN_LOGIN (302 to the admin sign-in), REDIRECT (any other 302), or a tuple of those.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

PERSONAS = (
    "anonymous",
    "alice",
    "bob",
    "sam",
    "adam",
    "audrey",
    "vera",
    "sally",
    "petra",
    "eddie",
    "api_key",
)
USERS = ("alice", "bob", "sam", "adam", "audrey", "vera", "sally", "petra", "eddie")
SIGNED_IN = frozenset(USERS)

LOGIN = "login"
ADMIN_LOGIN = "admin-login"
REDIRECT = "redirect"

Expected = int | str | tuple[int | str, ...]


@dataclass(frozen=True)
class Route:
    """The expected answer of one route for each persona."""

    expect: Mapping[str, Expected] = field(default_factory=dict)
    default: Expected = 403
    method: str = "GET"
    kwargs: Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]] = field(
        default_factory=dict
    )
    data: Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]] = field(
        default_factory=dict
    )
    api: bool = False  # anonymous and bad keys get 401, not a redirect to sign in
    path: str = ""  # for unnamed patterns: the path to request
    query: str = ""

    def expected(self, persona: str) -> Expected:
        if persona in self.expect:
            return self.expect[persona]
        if persona in ("anonymous", "api_key"):
            return 401 if self.api else LOGIN
        return self.default


def page(
    allowed: Mapping[str, Expected] | set[str] | frozenset[str],
    *,
    others: Expected = 403,
    **options: Any,
) -> Route:
    """An HTML page: anonymous users are sent to sign in, listed personas get their answer, others `others`."""
    expect = dict.fromkeys(allowed, 200) if isinstance(allowed, set | frozenset) else dict(allowed)
    return Route(expect=expect, default=others, **options)


def public(code: Expected = 200, **options: Any) -> Route:
    """The same answer for everybody, signed in or not."""
    return Route(expect=dict.fromkeys(PERSONAS, code), default=code, **options)


@dataclass(frozen=True)
class RouteInfo:
    key: str
    name: str | None  # the name to reverse, namespaced
    route: str
    converters: tuple[str, ...]
    module: str


def _walk(patterns: list[Any], namespace: str = "", prefix: str = "") -> Iterator[RouteInfo]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}{p.namespace}:"
            yield from _walk(p.url_patterns, ns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            name = f"{namespace}{p.name}" if p.name else None
            converters = tuple(getattr(p.pattern, "converters", {}) or p.pattern.regex.groupindex)
            callback = p.callback
            module = getattr(callback, "__module__", "") or ""
            view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
            if view_class is not None:
                module = view_class.__module__
            yield RouteInfo(
                key=name or route, name=name, route=route, converters=converters, module=module
            )


def all_routes() -> list[RouteInfo]:
    """Every URL pattern of the project, with a unique key each."""
    routes = list(_walk(get_resolver().url_patterns))
    seen: dict[str, int] = {}
    out = []
    for r in routes:
        seen[r.key] = seen.get(r.key, 0) + 1
        if seen[r.key] > 1:  # a second pattern with the same name is keyed by its route too
            r = RouteInfo(
                key=f"{r.key} {r.route}",
                name=None,
                route=r.route,
                converters=r.converters,
                module=r.module,
            )
        out.append(r)
    return out


def expectation_modules() -> list[Any]:
    """`tests/privacy/matrix_expectations.py` and every `tests/<app>/matrix.py`."""
    modules = [importlib.import_module("tests.privacy.matrix_expectations")]
    tests_dir = Path(__file__).resolve().parent.parent
    for info in pkgutil.iter_modules([str(tests_dir)]):
        if info.ispkg and (tests_dir / info.name / "matrix.py").exists():
            modules.append(importlib.import_module(f"tests.{info.name}.matrix"))
    return modules


def expectations() -> dict[str, Route]:
    """The merged tables; a route key claimed twice is an error."""
    merged: dict[str, Route] = {}
    for module in expectation_modules():
        for key, route in module.EXPECTATIONS.items():
            if key in merged:
                raise AssertionError(
                    f"Route {key!r} has expectations in two tables ({module.__name__})."
                )
            merged[key] = route
    return merged


def api_key_hook() -> Any:
    """The function that issues the employer API key persona's key (one app's table defines it)."""
    hooks = [m.api_key for m in expectation_modules() if hasattr(m, "api_key")]
    if len(hooks) != 1:
        raise AssertionError(
            f"Exactly one matrix table must define api_key(world); {len(hooks)} do."
        )
    return hooks[0]


def default_for(info: RouteInfo) -> Route | None:
    """Rules that cover a whole family of routes (Django's admin site), or None."""
    from tests.privacy.matrix_expectations import admin_rule

    return admin_rule(info)


def owner_hint(info: RouteInfo) -> str:
    """Where the missing expectation belongs: the tests folder of the route's namespace or app."""
    tests_dir = Path(__file__).resolve().parent.parent
    namespace = (info.name or "").split(":")[0] if ":" in (info.name or "") else ""
    app = info.module.split(".")[0]
    for candidate in (namespace, *info.module.split(".")[1:2], app):
        if candidate and candidate != "privacy" and (tests_dir / candidate).is_dir():
            return f"tests/{candidate}/matrix.py"
    return "tests/privacy/matrix_expectations.py"
