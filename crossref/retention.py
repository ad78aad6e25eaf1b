"""Retention of what the engine derived from verification cases: findings and shadow hits.

Registered in `CrossrefConfig.ready` as the privacy registry's derived purger of
"verification.case": when retention destroys verification cases, it runs in the same
transaction, just before the cases go.

Which findings go with a purged verification case:

- a finding about the case itself (subject `case:<id>`) or that names it as its case
  (`case_id`): the identity, enforcement and per-case employer rules;
- a finding whose evidence cites it among other cases (`case_ids`, `identities`: the SSN rules).
  It is deleted, not trimmed: its summary, score and per-field comparison were computed over the
  whole set, and a trimmed finding would claim what its evidence no longer shows ("one SSN at
  three employers" when two remain). The next run re-derives the lead from the cases that remain,
  if it still holds;
- a finding about the person (`ssn:<index>`) once no verification case with that SSN is left.

Findings about an employer that only count its cases (the rate rules: no case ids) stay; they hold
no worker's data. Findings under a legal hold stay: an open investigation holds the findings it
relies on (the cases' hold provider, source "crossref.finding"), and it also holds every
verification case they cite, so a held finding loses its case only if it cites none.

Before deleting findings, `registry.purge_derived("crossref.finding", ids)` lets the apps that
copied them (cases: the links, and flagged cases left with no finding) remove their copies.

Shadow hits keep nothing but their keys and a summary: a hit about the case (`case:<id>`), about
the person of a purged case (`ssn:<index>`: the hit cannot tell which cases it counted), or an
employer hit whose evidence key names the case (`<evidence>:<id>`) goes.

Neither table is given row history by default (bulk writes, audited per run); if a deployment
tracks them, their history goes with the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Q

from audit.history import retention_purge
from crossref.models import Finding, ShadowHit
from privacy import registry
from privacy.registry import RecordRef
from privacy.services.retention import held_ids
from verification.models import VerificationCase

FINDING = "crossref.finding"
SHADOW_HIT = "crossref.shadowhit"


def cited_case_ids(case_id: int | None, evidence: Any) -> set[int]:
    """The verification cases a finding cites: its `case_id`, and those its evidence lists."""
    cited: set[int] = set()
    if case_id:
        cited.add(int(case_id))
    if not isinstance(evidence, dict):
        return cited
    values: list[Any] = [evidence.get("case_id")]
    values += list(evidence.get("case_ids") or [])
    for group in evidence.get("identities") or []:
        values += list(group) if isinstance(group, list) else [group]
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool):
            cited.add(v)
        elif isinstance(v, str) and v.isdigit():
            cited.add(int(v))
    return cited


def _rule_codes() -> list[str]:
    """Every rule code that has findings (a skip scan of the unique index: one probe per code)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH RECURSIVE t(code) AS (
                (SELECT rule_code FROM crossref_finding ORDER BY rule_code LIMIT 1)
                UNION ALL
                SELECT (SELECT rule_code FROM crossref_finding WHERE rule_code > t.code ORDER BY rule_code LIMIT 1)
                  FROM t WHERE t.code IS NOT NULL
            ) SELECT code FROM t WHERE code IS NOT NULL""")
        return [row[0] for row in cursor.fetchall()]


def _findings_to_purge(ids: set[int], bidx: set[str]) -> list[tuple[int, str]]:
    """(id, subject key) of the findings that go with the cases `ids` (of SSN indexes `bidx`)."""

    ssn_keys = [f"ssn:{b}" for b in bidx if b]
    # `case_id` has its index; the SSN subjects go through the unique (rule_code, subject_key, ...) index.
    condition = Q(case_id__in=ids)
    if ssn_keys:
        condition |= Q(rule_code__in=_rule_codes(), subject_key__in=ssn_keys)
    remaining = set(
        VerificationCase.objects.filter(ssn_bidx__in=bidx)
        .exclude(pk__in=ids)
        .values_list("ssn_bidx", flat=True)
        .distinct()
    )
    orphaned = {f"ssn:{b}" for b in bidx - remaining if b}
    own = {f"case:{i}" for i in ids}
    doomed = []
    for pk, case_id, key, evidence in Finding.objects.filter(condition).values_list(
        "pk", "case_id", "subject_key", "evidence"
    ):
        if key in own or key in orphaned or cited_case_ids(case_id, evidence) & ids:
            doomed.append((pk, key))
    return doomed


def _shadow_hits_to_purge(ids: set[int], bidx: set[str], employers: set[int]) -> list[int]:
    condition = Q(subject_key__in=[f"case:{i}" for i in ids]) | Q(
        subject_key__in=[f"ssn:{b}" for b in bidx if b]
    )
    if employers:
        pattern = ":(" + "|".join(str(i) for i in sorted(ids)) + ")$"
        condition |= Q(
            subject_key__in=[f"employer:{e}" for e in employers], evidence_key__regex=pattern
        )
    return list(ShadowHit.objects.filter(condition).values_list("pk", flat=True))


def verification_cases_purge_derived(record_ids: Sequence[str]) -> dict[str, list[str]]:
    """Destroy the findings and shadow hits derived from these verification cases (see the module).

    Runs in the retention purge's transaction, before the cases go; returns {type: ids destroyed},
    including what the apps that copied the findings destroyed in turn.
    """

    ids = {int(i) for i in record_ids}
    facts = list(VerificationCase.objects.filter(pk__in=ids).values_list("ssn_bidx", "employer_id"))
    bidx = {b for b, _ in facts if b}
    employers = {e for _, e in facts if e}
    candidates = _findings_to_purge(ids, bidx)
    held = (
        held_ids(FINDING, [RecordRef(FINDING, str(pk), key) for pk, key in candidates])
        if candidates
        else set()
    )
    findings = [str(pk) for pk, _ in candidates if str(pk) not in held]
    hits = [str(pk) for pk in _shadow_hits_to_purge(ids, bidx, employers)]

    gone: dict[str, list[str]] = registry.purge_derived(FINDING, findings) if findings else {}
    with retention_purge() as purge:
        purge.history(table=Finding._meta.db_table, row_pks=findings)
        Finding.objects.filter(pk__in=[int(f) for f in findings]).delete()
        purge.history(table=ShadowHit._meta.db_table, row_pks=hits)
        ShadowHit.objects.filter(pk__in=[int(h) for h in hits]).delete()
    return _merge(gone, {FINDING: findings, SHADOW_HIT: hits})


def _merge(*parts: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in parts:
        for kind, ids in part.items():
            if ids:
                out.setdefault(kind, []).extend(ids)
    return out


def register() -> None:
    """Register the derived purger with the privacy registry (from `CrossrefConfig.ready`)."""

    registry.register_derived_purger("verification.case", verification_cases_purge_derived)
