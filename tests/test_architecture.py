"""The house plan of ../shared/DESIGN.md, checked on every `make test`.

- Apps import down the order `cases → crossref → verification → privacy → audit → core`; no app
  imports the tooling (`synthetic`, `bench`).
- No import loop among the modules of one app (imports only for type checking aside).
- No import inside a function body, except the documented inversions listed in `ALLOWED_LOCAL`
  (and, for now, the tooling other engineers are reworking, marked "to clean after merge").

The import graph comes from grimp (the library behind import-linter, whose contracts in
pyproject.toml say the same for `lint-imports`). Each check is a pure function, tested below on a
small graph with the fault in it, so a check that cannot fail would show.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["cases", "crossref", "verification", "privacy", "audit", "core"]
TOOLING = ["synthetic", "bench"]

# (module, function) -> why the import must stay inside the function.
ALLOWED_LOCAL = {
    **{
        (
            f"{app}.apps",
            "ready",
        ): "AppConfig.ready: models and registries load after the app registry"
        for app in ORDER
        if app != "core"  # core registers nothing
    },
    (
        "config.celery",
        "_announce_readiness",
    ): "imported with the settings, before Django's apps load",
    ("config.run", "_embedded_postgres"): "make run's embedded PostgreSQL, loaded only when used",
    ("config.run", "_embedded_redis"): "make run's embedded Redis, loaded only when used",
    (
        "bench.chaos.prepare",
        "main",
    ): "the chaos data's own process: models load after django.setup()",
    (
        "bench.chaos.imports",
        "main",
    ): "the chaos import world's own process: models load after django.setup()",
    ("bench.soak", "_setup"): "the soak set-up's own process: models load after django.setup()",
}
# Being reworked by other engineers at the time of writing (bench/): to clean after merge. Most
# of these import Django models after the bench has configured Django itself.
TO_CLEAN_AFTER_MERGE = "to clean after merge"
ALLOWED_LOCAL |= {
    **{
        (module, function): TO_CLEAN_AFTER_MERGE
        for module, functions in {
            "bench.audit": (
                "run",
                "_setup_database",
                "_drop_database",
                "_demo_case",
                "_session_cookie",
                "_cpu_in_process",
                "_pages",
                "_designs",
                "_writers",
                "_verify_size",
                "_browser_indexes",
                "_browser",
            ),
            "bench.crossref": (
                "run",
                "_setup_django",
                "_bench_user",
                "_floor_seconds",
                "_stop",
                "_full_run",
                "_switch_database",
                "_reuse_user",
                "_load_data",
                "_quality",
                "_wait_for_workers",
                "_train_linkage",
            ),
            "bench.data": ("run",),
            "bench.import": (
                "_files",
                "_plain_copy",
                "_floor_tables",
                "_write_floor",
                "run",
                "_measure",
                "_runner",
                "_parallel",
            ),
            "bench.latency": (
                "_citizens",
                "_residents",
                "_server",
                "_probe_key",
                "one_client",
                "main",
            ),
            "bench.queue": (
                "_ensure_database",
                "_drop_database",
                "_directory",
                "_load",
                "_session",
                "_cpu_per_request",
                "_cold_home_ms",
                "run",
            ),
        }.items()
        for function in functions
    },
}

Graph = Mapping[str, set[str]]


def _app(module: str) -> str:
    return module.split(".")[0]


def upward_imports(graph: Graph, order: list[str]) -> list[tuple[str, str]]:
    """(importer, imported) pairs where an app imports one above it in `order`."""
    rank = {app: i for i, app in enumerate(order)}
    return sorted(
        (m, t)
        for m, targets in graph.items()
        for t in targets
        if _app(m) in rank and _app(t) in rank and rank[_app(t)] < rank[_app(m)]
    )


def tooling_imports(
    graph: Graph, apps: Iterable[str], tooling: Iterable[str]
) -> list[tuple[str, str]]:
    """(importer, imported) pairs where an app imports a tooling package."""
    apps, tooling = set(apps), set(tooling)
    return sorted(
        (m, t) for m, ts in graph.items() for t in ts if _app(m) in apps and _app(t) in tooling
    )


def loops(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module inside one app (Tarjan).

    A package's `__init__` re-exporting its submodules is no loop as long as no submodule imports
    the package back (`from verification.services.case_common import x`, not `from
    verification.services import x`): grimp records the module named.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if _app(w) != _app(v) or w == v:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def local_imports(source: str, module: str) -> list[tuple[str, str, int]]:
    """(module, outermost function, line) of every import inside a function body."""
    found: list[tuple[str, str, int]] = []

    def walk(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(child, function or child.name)
            elif isinstance(child, ast.Import | ast.ImportFrom) and function:
                found.append((module, function, child.lineno))
            else:
                walk(child, function)

    walk(ast.parse(source), None)
    return found


def _project_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph(
        *ORDER, *TOOLING, "config", cache_dir=None, exclude_type_checking_imports=True
    )
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


@pytest.fixture(scope="module")
def project_graph() -> dict[str, set[str]]:
    return _project_graph()


# --- The project ------------------------------------------------------------------------------


def test_no_app_imports_one_above_it(project_graph):
    assert upward_imports(project_graph, ORDER) == []


def test_no_app_imports_the_tooling(project_graph):
    assert tooling_imports(project_graph, [*ORDER, "config"], TOOLING) == []


def test_no_import_loop_inside_an_app(project_graph):
    assert loops(project_graph) == []


def _project_local_imports() -> list[tuple[str, str, int]]:
    found = []
    for package in [*ORDER, "config", *TOOLING]:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(
                ".__init__"
            )
            found += local_imports(path.read_text(), module)
    return found


def test_imports_sit_at_the_top_of_modules_but_for_documented_inversions():
    found = [
        f"{m}:{fn} line {line}"
        for m, fn, line in _project_local_imports()
        if (m, fn) not in ALLOWED_LOCAL
    ]
    assert found == []


def test_the_allow_list_only_names_functions_that_still_import():
    """An entry whose imports have gone must go too: the list can only shrink."""
    used = {(m, fn) for m, fn, _ in _project_local_imports()}
    assert sorted(set(ALLOWED_LOCAL) - used) == []


def test_the_import_linter_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# --- The checks themselves can fail -------------------------------------------------------------


def test_an_upward_import_is_caught():
    graph = {"verification.services": {"crossref.instant", "privacy.policy"}}
    assert upward_imports(graph, ORDER) == [("verification.services", "crossref.instant")]


def test_an_import_of_the_tooling_is_caught():
    graph = {"cases.views": {"synthetic.world"}, "bench.crossref": {"cases.models"}}
    assert tooling_imports(graph, ORDER, TOOLING) == [("cases.views", "synthetic.world")]


def test_a_loop_through_a_package_is_caught():
    graph = {
        "privacy.services": {"privacy.services.retention"},
        "privacy.services.retention": {"privacy.tasks.purge"},
        "privacy.tasks.purge": {"privacy.services"},
        "privacy.services.agreements": set(),
        "audit.models": {"core.models"},
    }
    assert loops(graph) == [
        ["privacy.services", "privacy.services.retention", "privacy.tasks.purge"]
    ]


def test_imports_between_apps_are_no_loop():
    graph = {"cases.models": {"crossref.models"}, "crossref.models": {"verification.models"}}
    assert loops(graph) == []


def test_a_function_level_import_is_caught():
    source = "import os\n\ndef f():\n    from cases import models\n    return models\n"
    assert local_imports(source, "cases.x") == [("cases.x", "f", 4)]
