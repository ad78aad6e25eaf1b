"""The rule registry: every rule's code, version, description, severity, data categories and code.

A rule module declares its rules with `@rule(...)` on the function that implements them. Two
versions of one code may be registered; the one marked `current` runs in normal runs, and a
`candidate` version runs only in shadow runs, beside the current one, until it is promoted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossref.context import PartitionContext

# Families, in the order a partition runs them; each family reads a kind of partition.
FAMILIES = {
    "identity_ssa": "ssn",
    "identity_dhs": "ssn",
    "ssn": "ssn",
    "enforcement": "ssn",
    "employer": "employer",
}


@dataclass(frozen=True)
class Rule:
    """One version of one rule."""

    code: str
    version: int
    title: str
    description: str
    severity: str
    categories: tuple[str, ...]
    family: str
    implementation: Callable[[PartitionContext, Rule], None] = field(compare=False, repr=False)
    current: bool = True
    # Rules of one family that share a single pass over the data (one SQL statement or one
    # fuzzy pass) name the same `group`; the group runs once and emits for each of its codes.
    group: str = ""
    # Whether the rule reads the run's staging copy of the cases (`PartitionContext.cases`). A run
    # none of whose rules does (the enforcement linkage alone, which reads only the cases born on a
    # subject's date) skips building it and reads the cases table through its SSN index.
    staged: bool = True

    @property
    def kind(self) -> str:
        """The partition kind the rule reads: 'ssn' or 'employer'."""
        return FAMILIES[self.family]

    @property
    def dotted(self) -> str:
        """Where the implementation lives, for the registry view."""
        impl = self.implementation
        return f"{impl.__module__}.{impl.__qualname__}"


REGISTRY: dict[tuple[str, int], Rule] = {}


def rule(
    *,
    code: str,
    version: int,
    title: str,
    description: str,
    severity: str,
    categories: tuple[str, ...],
    family: str,
    current: bool = True,
    staged: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the implementation of one rule version."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = (code, version)
        if key in REGISTRY and REGISTRY[key].implementation is not fn:
            raise ValueError(f"Rule {code} v{version} is registered twice.")
        if family not in FAMILIES:
            raise ValueError(f"Unknown rule family {family!r}.")
        REGISTRY[key] = Rule(
            code=code,
            version=version,
            title=title,
            description=description,
            severity=severity,
            categories=tuple(categories),
            family=family,
            implementation=fn,
            current=current,
            staged=staged,
        )
        return fn

    return wrap


def current_rules() -> list[Rule]:
    """The current version of every rule, in family order."""
    rules = [r for r in REGISTRY.values() if r.current]
    order = list(FAMILIES)
    return sorted(rules, key=lambda r: (order.index(r.family), r.code))


def get_current(code: str) -> Rule:
    """The current version of one rule code; KeyError if none."""
    for r in REGISTRY.values():
        if r.code == code and r.current:
            return r
    raise KeyError(code)


def get(code: str, version: int) -> Rule:
    """One rule version; KeyError if unknown."""
    return REGISTRY[(code, version)]


def candidates() -> list[Rule]:
    """Rule versions that are not current yet: what shadow runs compare."""
    return [r for r in REGISTRY.values() if not r.current]


def categories_of(rules: list[Rule]) -> list[str]:
    """Every data category the given rules read, sorted."""
    return sorted({c for r in rules for c in r.categories})
