"""Enforcement-subject linkage: blocking, then rapidfuzz scoring of candidate pairs only.

Blocking keys (the same for subjects, their aliases and the cases):
- date of birth + first two letters of a family-name part (subjects also under the day/month-swapped date);
- date of birth + first two letters of the given name;
- a document blind index (document number) shared with the subject.

A pair's name similarity is the weaker of the given-name and family-name similarities (rapidfuzz,
vectorized over all candidate pairs), best over the subject's name and aliases. The score is that
similarity when the dates of birth are equal, 0.9 of it when day and month are swapped, and 0
otherwise; a shared document number sets it to at least 0.99. At or above the threshold it is a
lead; within the review margin below it, a low-severity lead for review.
"""

from __future__ import annotations

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
    names: list[list[tuple[str, str]]]  # normalized (given, family) per subject: primary name and aliases
    blocks: dict[str, list[int]]


def _split(first: str, last: str) -> tuple[str, str]:
    return names.normalize(first), names.normalize(last)


def block_keys(first: str, last: str, dob: date | None, docs: list[str]) -> set[str]:
    """The blocking keys of one normalized name, a date of birth and document blind indexes."""
    keys = {f"x:{d}" for d in docs if d}
    if dob is None:
        return keys
    iso = dob.isoformat()
    if first:
        keys.add(f"f:{iso}:{first[:2]}")
    for part in last.split():
        keys.add(f"d:{iso}:{part[:2]}")
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
        all_names: list[list[tuple[str, str]]] = []
        for i, s in enumerate(rows):
            variants = [_split(s["first_name"], s["last_name"])]
            for alias in s["aliases"] or []:
                parts = names.normalize(alias).split(" ", 1)
                variants.append((parts[0], parts[1] if len(parts) > 1 else parts[0]))
            dob = s["date_of_birth"]
            dobs = [dob]
            if dob is not None and dob.day <= 12 and dob.day != dob.month:
                dobs.append(dob.replace(month=dob.day, day=dob.month))
            keys: set[str] = set()
            for first, last in variants:
                for d in dobs:
                    keys |= block_keys(first, last, d, list(s["documents_bidx"] or []))
            all_names.append(variants)
            for k in keys:
                blocks.setdefault(k, []).append(i)
        _INDEX.clear()
        _INDEX[load_id] = SubjectIndex(subjects=rows, names=all_names, blocks=blocks)
        return _INDEX[load_id]


def _dob_factor(a: date | None, b: date | None) -> float:
    if a is None or b is None:
        return 0.0
    if a == b:
        return 1.0
    if dob_swapped(a, b):
        return 0.9
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
          FROM {ctx.cases} c WHERE {where}""", params)  # noqa: S608
    pair_case: list[int] = []
    pair_subject: list[int] = []
    pair_doc: list[bool] = []
    blocks = index.blocks
    normalize = names.normalize
    for ci, c in enumerate(cases):
        first = normalize(c["first_name"])
        last = normalize(f"{c['last_name']} {c['other_last_names'] or ''}")
        c["_n"] = (first, last)
        seen: set[int] = set()
        for key in block_keys(first, last, c["date_of_birth"], c["docs"] or []):
            for si in blocks.get(key, ()):
                if si not in seen:
                    seen.add(si)
                    pair_case.append(ci)
                    pair_subject.append(si)
                    pair_doc.append(key.startswith("x:"))
    if not pair_case:
        ctx.emit(r_, [])
        return
    # Expand each pair to every name of the subject, score all at once, keep the best per pair.
    lf: list[str] = []
    rf: list[str] = []
    ll: list[str] = []
    rl: list[str] = []
    owner: list[int] = []
    for p, (ci, si) in enumerate(zip(pair_case, pair_subject, strict=True)):
        first, last = cases[ci]["_n"]
        for sfirst, slast in index.names[si]:
            lf.append(first)
            rf.append(sfirst)
            ll.append(last)
            rl.append(slast)
            owner.append(p)
    given = process.cpdist(lf, rf, scorer=fuzz.ratio, workers=1)
    family = process.cpdist(ll, rl, scorer=fuzz.token_set_ratio, workers=1)
    sims = np.minimum(given, family) / 100.0
    best = np.zeros(len(pair_case))
    np.maximum.at(best, np.asarray(owner), sims)
    threshold = float(settings.CROSSREF["LINKAGE_THRESHOLD"])
    margin = float(settings.CROSSREF["LINKAGE_REVIEW_MARGIN"])
    out = []
    for p, (ci, si) in enumerate(zip(pair_case, pair_subject, strict=True)):
        c, s = cases[ci], index.subjects[si]
        dob = _dob_factor(c["date_of_birth"], s["date_of_birth"])
        score = float(best[p]) * dob
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
