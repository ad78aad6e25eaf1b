"""Enforcement-subject linkage: blocking, then rapidfuzz scoring of candidate pairs only.

Blocking keys (the same for subjects, their aliases and the cases):
- date of birth + first letter of a family-name part (and the day/month-swapped date);
- birth year + first four letters of a family-name part + first letter of the given name;
- a document blind index (A-Number, passport, I-94, document number) shared with the subject.

A pair's score is 0.55 x name similarity (best of the subject's names and aliases) + 0.45 x
date-of-birth agreement; a shared document number sets it to at least 0.99. At or above the
threshold it is a lead; within the review margin below it, a low-severity lead for review.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from rapidfuzz import fuzz, process

from verification.crossref import names, sources
from verification.crossref.engine import PartitionContext
from verification.crossref.registry import Rule, rule
from verification.crossref.rules.common import dob_swapped, fetch_dicts, field, loads
from verification.crossref.rules.identity import _case_filter, _examined

CATS = ("verification_cases", "enforcement")
_lock = threading.Lock()
_INDEX: dict[int, SubjectIndex] = {}


@dataclass
class SubjectIndex:
    """The subjects of one enforcement load, with their blocking keys."""

    subjects: list[dict[str, Any]]
    names: list[list[str]]  # normalized "first last" strings per subject (primary + aliases)
    blocks: dict[str, list[int]]


def _name_parts(full: str) -> tuple[str, list[str]]:
    parts = names.normalize(full).split()
    if not parts:
        return "", []
    return parts[0], parts[1:] or parts[:1]


def block_keys(first: str, lasts: list[str], dob: date | None, docs: list[str]) -> set[str]:
    """The blocking keys of one name (given name, family-name parts), date of birth and documents."""
    keys = {f"x:{d}" for d in docs if d}
    initial = first[:1]
    for last in lasts:
        if not last:
            continue
        if dob is not None:
            keys.add(f"d:{dob.isoformat()}:{last[0]}")
            keys.add(f"y:{dob.year}:{last[:4]}:{initial}")
    return keys


def subject_index(load_id: int, cur: Any) -> SubjectIndex:
    """Subjects of a load with their blocking keys, built once per worker process and load."""
    with _lock:
        if load_id in _INDEX:
            return _INDEX[load_id]
        rows = fetch_dicts(cur, f"""SELECT id, subject_ref, first_name, last_name, aliases, date_of_birth,
                                           documents_bidx, status FROM {sources.ENFORCEMENT}
                                     WHERE load_id = %(l)s ORDER BY id""", {"l": load_id})  # noqa: S608
        blocks: dict[str, list[int]] = {}
        all_names: list[list[str]] = []
        for i, s in enumerate(rows):
            fulls = [f"{s['first_name']} {s['last_name']}", *(s["aliases"] or [])]
            normed = []
            keys: set[str] = set()
            dobs = [s["date_of_birth"]]
            if s["date_of_birth"] is not None and s["date_of_birth"].day <= 12:
                with contextlib.suppress(ValueError):
                    dobs.append(s["date_of_birth"].replace(month=s["date_of_birth"].day, day=s["date_of_birth"].month))
            for full in fulls:
                first, lasts = _name_parts(full)
                normed.append(names.normalize(full))
                for d in dobs:
                    keys |= block_keys(first, lasts, d, list(s["documents_bidx"] or []))
            all_names.append(normed)
            for k in keys:
                blocks.setdefault(k, []).append(i)
        _INDEX.clear()
        _INDEX[load_id] = SubjectIndex(subjects=rows, names=all_names, blocks=blocks)
        return _INDEX[load_id]


def _dob_score(a: date | None, b: date | None) -> float:
    if a is None or b is None:
        return 0.0
    if a == b:
        return 1.0
    if dob_swapped(a, b):
        return 0.85
    if a.year == b.year and (a.month == b.month or a.day == b.day):
        return 0.6
    return 0.0


@rule(code="ENF-LINK", version=1, title="Matches an enforcement subject", severity="high", categories=CATS,
      family="enforcement",
      description="The worker links to a subject of the enforcement database: fuzzy name (aliases included) and "
                  "date of birth after blocking, or a shared document number. Scored against a threshold; pairs "
                  "just below it are low-severity leads for review.")
def enforcement_link(ctx: PartitionContext, r_: Rule) -> None:
    load_id = loads(ctx).get("enforcement")
    if not load_id:
        ctx.emit(r_, [])
        return
    index = subject_index(load_id, ctx.cursor)
    _examined(ctx)
    where, params = _case_filter(ctx)
    cases = fetch_dicts(ctx.cursor, f"""
        SELECT c.id, c.employer_id, c.ssn_bidx, c.first_name, c.last_name, c.other_last_names, c.date_of_birth,
               array_remove(ARRAY[nullif(c.a_number_bidx, ''), nullif(c.passport_bidx, ''), nullif(c.i94_bidx, ''),
                                  nullif(c.document_number_bidx, '')], NULL) AS docs
          FROM {sources.CASES} c WHERE {where}""", params)  # noqa: S608
    pair_case: list[int] = []
    pair_subject: list[int] = []
    pair_doc: list[bool] = []
    for ci, c in enumerate(cases):
        first, lasts = _name_parts(f"{c['first_name']} {c['last_name']} {c['other_last_names'] or ''}")
        seen: set[int] = set()
        for key in block_keys(first, lasts, c["date_of_birth"], c["docs"] or []):
            for si in index.blocks.get(key, ()):
                if si not in seen:
                    seen.add(si)
                    pair_case.append(ci)
                    pair_subject.append(si)
                    pair_doc.append(key.startswith("x:"))
    if not pair_case:
        ctx.emit(r_, [])
        return
    # Expand each pair to every name of the subject, score all at once, keep the best per pair.
    left: list[str] = []
    right: list[str] = []
    owner: list[int] = []
    for p, (ci, si) in enumerate(zip(pair_case, pair_subject, strict=True)):
        c = cases[ci]
        cname = names.normalize(f"{c['first_name']} {c['last_name']}")
        for sname in index.names[si]:
            left.append(cname)
            right.append(sname)
            owner.append(p)
    sims = process.cpdist(left, right, scorer=fuzz.token_sort_ratio, workers=1) / 100.0
    best = np.zeros(len(pair_case))
    np.maximum.at(best, np.asarray(owner), sims)
    threshold = float(settings.CROSSREF["LINKAGE_THRESHOLD"])
    margin = float(settings.CROSSREF["LINKAGE_REVIEW_MARGIN"])
    out = []
    for p, (ci, si) in enumerate(zip(pair_case, pair_subject, strict=True)):
        c, s = cases[ci], index.subjects[si]
        dob = _dob_score(c["date_of_birth"], s["date_of_birth"])
        score = 0.55 * float(best[p]) + 0.45 * dob
        doc = pair_doc[p] or bool(set(c["docs"] or []) & set(s["documents_bidx"] or []))
        if doc:
            score = max(score, 0.99)
        if score < threshold - margin:
            continue
        lead = score >= threshold
        out.append({
            "subject_type": "worker", "subject_key": f"case:{c['id']}", "evidence_key": f"enforcement:{s['subject_ref']}",
            "case_id": c["id"], "employer_id": c["employer_id"], "ssn_index": c["ssn_bidx"],
            "severity": "high" if lead else "low", "score": round(score, 4),
            "fields": [field("name", "enforcement", f"{c['first_name']} {c['last_name']}",
                             f"{s['first_name']} {s['last_name']}", float(best[p])),
                       field("date_of_birth", "enforcement", c["date_of_birth"], s["date_of_birth"], dob),
                       *([field("document", "enforcement", "shared document number", "shared document number", 1.0)]
                         if doc else [])],
            "evidence": {"subject_id": s["id"], "subject_ref": s["subject_ref"], "subject_status": s["status"],
                         "threshold": threshold, "document_match": doc},
            "summary": ("Links to enforcement subject " if lead else "Near-threshold link to enforcement subject ")
            + f"{s['subject_ref']} (score {score:.2f}).",
        })
    ctx.emit(r_, out)
