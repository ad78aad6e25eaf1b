"""Enforcement-subject linkage: blocking in SQL, then rapidfuzz scoring of candidate pairs only.

Blocking keys (the same for subjects, their aliases and the cases), each with the date of birth
(subjects also under their day/month-swapped date):
- the first two letters of the given name;
- the first two letters of each family-name part (the case's other last names included);
- a document blind index (A-Number, passport, I-94 or List A/B number) shared with the subject.
Names are folded before the letters are taken: case and diacritics dropped (`fold`: "Álvarez" and
"ALVAREZ" give "al"), apostrophes dropped, hyphens and punctuation as spaces, so that the benign
variants (accents, upper case, hyphen for space, a reordered or truncated compound surname, a
second given name, a typo after the second letter) keep a key in common with the name they vary.
A transliteration changes the given name's letters ("Mohammed", "Muhammad") but rarely the family
name's, and the other way round.

A name key is a bigint (the date, a given/family bit, the two letters' code points). PostgreSQL
computes the case's keys from its columns with the same folding (`lower` and a short `translate`
over the name; the long diacritics `translate` over a key's two letters only, when they are not
ASCII: `fold`, `letters`) and keeps only the
partition's cases whose key is one of the subjects' (hashed `= ANY` over the load's keys, built once
per worker) or that hold one of the subjects' documents (hashed semi-joins), in one scan that also
counts the cases examined. A case sharing only a date of birth with a subject (as most do: subjects
are born across the same years as workers) never leaves the database. Python pairs the few cases
left with the subjects of their keys and looks the documents up. Run alone, the rule needs no
staging copy of the cases (`staged=False`): its scan goes through the SSN index.

Scoring, vectorized over all candidate pairs and each subject's names (primary and aliases) with
`rapidfuzz.process.cpdist`: a name part scores 1 when equal (word order aside); SUBSET_SCORE (0.9)
when one side's words are a strict subset of the other's ("Garcia" for "Garcia Sanchez", a second
given name), one letter differs in a name of 5+ letters ("Mendosa" for "Mendoza") or only the
transliteration differs ("Muhammad" for "Mohammed"): plausible, not conclusive; else its
similarity. A pair's name score is the weaker of given and family name, best over the subject's
names, so a worker who shares only a common surname or given name with a subject born the same
day (a look-alike, not a lead) scores low. The score is that when the dates of birth are equal, 0.9 of it when day
and month are swapped, and 0 otherwise; a shared document number sets it to at least 0.99. At or
above the threshold (CROSSREF_LINKAGE_THRESHOLD) it is a lead; within the review margin below it
(CROSSREF_LINKAGE_REVIEW_MARGIN), a low-severity lead for review.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from verification.crossref import names, sources
from verification.crossref.engine import PartitionContext
from verification.crossref.registry import Rule, rule
from verification.crossref.rules.common import field as field_result
from verification.crossref.rules.common import loads
from verification.crossref.rules.identity import _case_filter

CATS = ("verification_cases", "enforcement")
SUBSET_SCORE = 0.9  # one name's words a strict subset of the other's
SWAPPED_DOB_FACTOR = 0.9
DOCUMENT_SCORE = 0.99
_lock = threading.Lock()
_INDEX: dict[int, SubjectIndex] = {}


@dataclass
class SubjectIndex:
    """The subjects of one enforcement load: by name key and by document; names on demand."""

    subjects: list[tuple[Any, ...]]  # (id, subject_ref, first_name, last_name, date_of_birth, status, aliases)
    dob: np.ndarray  # proleptic ordinal of each subject's date of birth (0: none)
    by_key: dict[int, list[int]]  # name key (see `key_code`) -> subject indexes
    by_doc: dict[str, list[int]]  # document blind index -> subject indexes
    keys_sql: str  # the distinct name keys, as a PostgreSQL bigint[] literal
    _names: dict[int, list[tuple[str, str]]] = field(default_factory=dict)

    def names_of(self, i: int) -> list[tuple[str, str]]:
        """Subject i's normalized (given, family) names, primary then aliases."""
        got = self._names.get(i)
        if got is None:
            _id, _ref, first, last, _dob, _status, aliases = self.subjects[i]
            normalize = names.normalize
            got = [(normalize(first), normalize(last))]
            for alias in aliases or []:
                given, _, family = normalize(alias).partition(" ")
                got.append((given, family or given))
            self._names[i] = got
        return got


def _fold_tables() -> tuple[dict[int, int | None], str, str, dict[int, int], str, str]:
    """The folding of blocking keys, as str.translate tables and PostgreSQL translate()'s strings.

    Two steps, so that the database runs its slow, long translate() on two letters only: over the
    whole (lower-cased) name, hyphens and punctuation to a space and apostrophes dropped; then over
    the two letters of a key, the Latin letters with diacritics (U+00C0-U+024F, U+1E00-U+1EFF) to the
    ASCII letter `names.normalize` makes of them.
    """
    separators, drop = "-.,/()_", "'\u2019\u2018`\u02bc"
    small: dict[int, int | None] = {ord(ch): ord(" ") for ch in separators}
    small.update({ord(ch): None for ch in drop})
    src, dst = [], []
    for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        ch, folded = chr(cp), names.normalize(chr(cp))
        if len(folded) == 1 and folded.isascii() and folded.isalpha():
            src.append(ch)
            dst.append(folded)
    big = {ord(a): ord(b) for a, b in zip(src, dst, strict=True)}
    return small, separators + drop, " " * len(separators), big, "".join(src), "".join(dst)


_SEP, _SEP_FROM, _SEP_TO, _LETTERS, _LETTERS_FROM, _LETTERS_TO = _fold_tables()
_EPOCH = date(1900, 1, 1).toordinal()
_FAMILY_BIT = 1 << 22


def fold(value: str) -> str:
    """A name as the blocking keys split it: lower case, separators as spaces, apostrophes dropped (SQL: `_candidates`)."""
    return (value or "").lower().translate(_SEP).lstrip(" ")


def letters(part: str) -> str:
    """The two letters of a key, diacritics folded (SQL: `_letters_sql`)."""
    return part[:2].translate(_LETTERS)


def key_code(dob_ordinal: int, family: bool, key: str) -> int:
    """The bigint of a name key: the date, the given/family bit, the code points of its two letters."""
    a = min(ord(key[0]), 2047) if key else 0
    b = min(ord(key[1]), 2047) if len(key) > 1 else 0
    return (dob_ordinal - _EPOCH) * (1 << 23) + (_FAMILY_BIT if family else 0) + a * 2048 + b


def _letters_sql(text: str) -> str:
    """SQL of `letters` over a folded text expression: the long translate() only for non-ASCII letters."""
    two = f"left({text}, 2)"
    return (f"CASE WHEN octet_length({two}) = char_length({two}) THEN {two} "
            f"ELSE translate({two}, %(e_lfrom)s, %(e_lto)s) END")


def _key_sql(text: str, family: bool) -> str:
    """SQL of `key_code` over the two letters of a key (a text expression) and the case's date of birth."""
    bit = _FAMILY_BIT if family else 0
    return (f"((c.date_of_birth - DATE '1900-01-01')::bigint * 8388608 + {bit} + "
            f"least(ascii({text}), 2047) * 2048 + least(ascii(substr({text}, 2, 1)), 2047))")


@lru_cache(maxsize=65536)
def _name_codes(first: str, last: str, aliases: tuple[str, ...]) -> tuple[int, ...]:
    """The name part of a subject's keys (`key_code` without the date), over its names; cached, names repeat."""
    variants = [(fold(first), fold(last))]
    for alias in aliases:
        given, _, family = fold(alias).partition(" ")
        variants.append((given, family or given))
    out = set()
    for given, family in variants:
        if given:
            out.add(key_code(_EPOCH, False, letters(given)))
        out.update(key_code(_EPOCH, True, letters(part)) for part in family.split())
    return tuple(out)


def _subject_keys(index: SubjectIndex, i: int, ordinals: list[int]) -> list[int]:
    _id, _ref, first, last, _dob, _status, aliases = index.subjects[i]
    codes = _name_codes(first or "", last or "", tuple(aliases or ()))
    return [(o - _EPOCH) * (1 << 23) + code for o in ordinals for code in codes]


def _swapped(d: date) -> date | None:
    if d.day <= 12 and d.day != d.month:
        return d.replace(month=d.day, day=d.month)
    return None


def subject_index(load_id: int, cur: Any) -> SubjectIndex:
    """Subjects of a load by name key and document, built once per worker process and load."""
    with _lock:
        if load_id in _INDEX:
            return _INDEX[load_id]
        cur.execute(f"""SELECT id, subject_ref, first_name, last_name, date_of_birth, status, aliases, documents_bidx
                          FROM {sources.ENFORCEMENT} WHERE load_id = %(l)s ORDER BY id""", {"l": load_id})  # noqa: S608
        rows = cur.fetchall()
        index = SubjectIndex(subjects=[r[:7] for r in rows], dob=np.zeros(len(rows), dtype=np.int64), by_key={},
                             by_doc={}, keys_sql="{}")
        for i, row in enumerate(rows):
            for bidx in row[7] or ():
                if bidx:
                    index.by_doc.setdefault(bidx, []).append(i)
            dob = row[4]
            if dob is None:
                continue
            index.dob[i] = dob.toordinal()
            swapped = _swapped(dob)
            for k in _subject_keys(index, i, [dob.toordinal()] + ([swapped.toordinal()] if swapped else [])):
                index.by_key.setdefault(k, []).append(i)
        index.keys_sql = "{" + ",".join(map(str, sorted(index.by_key))) + "}"
        _INDEX.clear()
        _INDEX[load_id] = index
        return index


_DIGRAPHS = (("ph", "f"), ("kh", "h"), ("gh", "g"), ("th", "t"), ("dh", "d"), ("ck", "k"), ("q", "k"), ("c", "k"),
             ("w", "v"), ("z", "s"), ("x", "ks"), ("j", "y"))


@lru_cache(maxsize=65536)
def skeleton(name: str) -> str:
    """A transliteration-blind form of a normalized name: common digraphs folded, vowels and doubled letters dropped.

    Mohammed, Muhammad and Mohamad share "mhmd"; Youssef, Yusuf and Jusuf share "ysf".
    """
    out = []
    for word in name.split():
        for a, b in _DIGRAPHS:
            word = word.replace(a, b)
        consonants = [ch for ch in word if ch not in "aeiouy" or ch == word[0] == "y"]
        out.append("".join(ch for i, ch in enumerate(consonants) if i == 0 or ch != consonants[i - 1]))
    return " ".join(out)


def part_scores(left: list[str], right: list[str]) -> np.ndarray:
    """0-1 per pair of normalized name parts.

    1 when equal (word order aside); SUBSET_SCORE when one side's words are a strict subset of the
    other's, when one letter differs (one edit, names of 5+ letters: a typo) or when only the
    transliteration differs (same `skeleton`, of 3+ letters): plausible, not conclusive; else the
    similarity.
    """
    plain = process.cpdist(left, right, scorer=fuzz.ratio, workers=1)
    unordered = process.cpdist(left, right, scorer=fuzz.token_sort_ratio, workers=1)
    subset = process.cpdist(left, right, scorer=fuzz.token_set_ratio, workers=1)
    best = np.maximum(plain, unordered) / 100.0
    edits = process.cpdist(left, right, scorer=Levenshtein.distance, workers=1)
    shorter = np.minimum(np.fromiter(map(len, left), dtype=np.int64, count=len(left)),
                         np.fromiter(map(len, right), dtype=np.int64, count=len(right)))
    near = (subset >= 100.0) | ((edits == 1) & (shorter >= 5))
    for i in np.flatnonzero((best < SUBSET_SCORE) & ~near):
        a, b = skeleton(left[i]), skeleton(right[i])
        near[i] = a == b and len(a.replace(" ", "")) >= 3
    return np.where(best >= 1.0, 1.0, np.where(near, np.maximum(best, SUBSET_SCORE), best))


def _candidates(ctx: PartitionContext, index: SubjectIndex, load_id: int) -> tuple[list[tuple[Any, ...]], list[int], list[int], set[tuple[int, int]]]:
    """The partition's cases that share a blocking key with a subject, and the (case, subject) pairs.

    One statement: the cases one of whose name keys (given name; family-name parts 1 to 3, other
    last names included) is a subject's (hashed `= ANY`), or holding one of the subjects' document
    indexes (four hashed semi-joins). It returns the case's keys as it computed them.
    """
    where, params = _case_filter(ctx)
    given = "ltrim(translate(lower(c.first_name), %(e_sfrom)s, %(e_sto)s))"
    family = "ltrim(translate(lower(c.last_name || ' ' || coalesce(c.other_last_names, '')), %(e_sfrom)s, %(e_sto)s))"
    two = [_letters_sql("c.g"), *(_letters_sql(f"split_part(c.f, ' ', {n})") for n in (1, 2, 3))]
    keys = ", ".join(f"{_key_sql(f'c.l{n}', n > 0)} AS k{n}" for n in range(4))
    hit = ("(x.k0 = ANY(%(e_keys)s::bigint[]) OR x.k1 = ANY(%(e_keys)s::bigint[]) "
           "OR x.k2 = ANY(%(e_keys)s::bigint[]) OR x.k3 = ANY(%(e_keys)s::bigint[]) "
           "OR x.a_number_bidx IN (SELECT bidx FROM d) OR x.passport_bidx IN (SELECT bidx FROM d) "
           "OR x.i94_bidx IN (SELECT bidx FROM d) OR x.document_number_bidx IN (SELECT bidx FROM d))")
    cols = ("c.id, c.employer_id, c.ssn_bidx, c.first_name, c.last_name, c.other_last_names, c.date_of_birth, "
            "c.a_number_bidx, c.passport_bidx, c.i94_bidx, c.document_number_bidx")
    docs = (f"WITH d AS (SELECT unnest(s.documents_bidx) AS bidx FROM {sources.ENFORCEMENT} s "  # noqa: S608
            "WHERE s.load_id = %(e_load)s AND s.documents_bidx <> '{}') ")
    args = {**params, "e_load": load_id, "e_keys": index.keys_sql,
            "e_sfrom": _SEP_FROM, "e_sto": _SEP_TO, "e_lfrom": _LETTERS_FROM, "e_lto": _LETTERS_TO}
    # OFFSET 0: the folded names, then the keys, computed once per row (not once per use).
    folded = f"SELECT {cols}, {given} AS g, {family} AS f FROM {ctx.cases} c WHERE {where} OFFSET 0"  # noqa: S608
    two_cols = ", ".join(f"{t} AS l{n}" for n, t in enumerate(two))
    lettered = f"SELECT {cols}, {two_cols} FROM ({folded}) c OFFSET 0"  # noqa: S608
    inner = f"SELECT {cols}, {keys} FROM ({lettered}) c OFFSET 0"  # noqa: S608
    if "examined" in ctx.cache:
        ctx.cursor.execute(f"{docs} SELECT * FROM ({inner}) x WHERE {hit}", args)  # noqa: S608
        cases = ctx.cursor.fetchall()
    else:
        # Alone in its partition, the rule counts the rows it examines in the same scan: the
        # matching rows, plus the first row (for the count) when none matches.
        ctx.cursor.execute(
            f"""{docs} SELECT * FROM (SELECT x.*, {hit} AS hit, count(*) OVER () AS n, row_number() OVER () AS rn
                                       FROM ({inner}) x) y
                 WHERE y.hit OR y.rn = 1""",  # noqa: S608
            args)
        rows = ctx.cursor.fetchall()
        examined = int(rows[0][16]) if rows else 0
        ctx.cache["examined"] = examined
        ctx.rows_examined += examined
        cases = [r[:15] for r in rows if r[15]]
    pairs: set[tuple[int, int]] = set()
    doc_pairs: set[tuple[int, int]] = set()
    by_key, by_doc = index.by_key, index.by_doc
    for ci, row in enumerate(cases):
        for k in row[11:15]:
            for si in by_key.get(k, ()) if k is not None else ():
                pairs.add((ci, si))
        for bidx in row[7:11]:
            for si in by_doc.get(bidx, ()) if bidx else ():
                pairs.add((ci, si))
                doc_pairs.add((ci, si))
    ordered = sorted(pairs)
    return cases, [ci for ci, _ in ordered], [si for _, si in ordered], doc_pairs


@rule(code="ENF-LINK", version=1, title="Matches an enforcement subject", severity="high", categories=CATS,
      family="enforcement", staged=False,
      description="The worker links to a subject of the enforcement database: fuzzy name (aliases included) and "
                  "date of birth after blocking, or a shared document number. Scored against a threshold; pairs "
                  "just below it are low-severity leads for review.")
def enforcement_link(ctx: PartitionContext, r_: Rule) -> None:
    load_id = loads(ctx).get("enforcement")
    if not load_id:
        ctx.emit(r_, [])
        return
    index = subject_index(load_id, ctx.cursor)
    cases, pair_case, pair_subject, doc_pairs = _candidates(ctx, index, load_id)
    if not pair_case:
        ctx.emit(r_, [])
        return
    normalize = names.normalize
    used = sorted(set(pair_case))
    c_given = {ci: normalize(cases[ci][3]) for ci in used}
    c_family = {ci: " ".join(x for x in (normalize(cases[ci][4]), normalize(cases[ci][5] or "")) if x) for ci in used}
    c_dob = np.full(len(cases), -1, dtype=np.int64)
    for ci in used:
        if cases[ci][6] is not None:
            c_dob[ci] = cases[ci][6].toordinal()
    pc = np.asarray(pair_case, dtype=np.int64)
    ps = np.asarray(pair_subject, dtype=np.int64)
    # Expand each pair to every name of its subject, score all at once, keep the best per pair.
    owner: list[int] = []
    lg: list[str] = []
    rg: list[str] = []
    lf: list[str] = []
    rf: list[str] = []
    for p, (ci, si) in enumerate(zip(pair_case, pair_subject, strict=True)):
        for given, family in index.names_of(si):
            owner.append(p)
            lg.append(c_given[ci])
            rg.append(given)
            lf.append(c_family[ci])
            rf.append(family)
    best = np.zeros(len(pc))
    np.maximum.at(best, np.asarray(owner, dtype=np.int64), np.minimum(part_scores(lg, rg), part_scores(lf, rf)))
    # Dates of birth: equal, or day and month swapped (a keying slip), else no name evidence.
    cd, sd = c_dob[pc], index.dob[ps]
    swapped = np.zeros(len(pc), dtype=bool)
    for k in np.flatnonzero((cd != sd) & (cd > 0) & (sd > 0)).tolist():
        a, b = date.fromordinal(int(cd[k])), date.fromordinal(int(sd[k]))
        swapped[k] = _swapped(a) == b
    dob_factor = np.where(cd == sd, 1.0, np.where(swapped, SWAPPED_DOB_FACTOR, 0.0))
    doc = np.asarray([(ci, si) in doc_pairs for ci, si in zip(pair_case, pair_subject, strict=True)], dtype=bool)
    score = np.where(doc, np.maximum(best * dob_factor, DOCUMENT_SCORE), best * dob_factor)
    threshold = float(settings.CROSSREF["LINKAGE_THRESHOLD"])
    margin = float(settings.CROSSREF["LINKAGE_REVIEW_MARGIN"])
    out = []
    for k in np.flatnonzero(score >= threshold - margin - 1e-9).tolist():
        c, s = cases[pair_case[k]], index.subjects[pair_subject[k]]
        sc, lead, has_doc = float(score[k]), bool(score[k] >= threshold - 1e-9), bool(doc[k])
        out.append({
            "subject_type": "worker", "subject_key": f"case:{c[0]}", "evidence_key": f"enforcement:{s[1]}",
            "case_id": c[0], "employer_id": c[1], "ssn_index": c[2],
            "severity": "high" if lead else "low", "score": round(sc, 4),
            "fields": [field_result("name", "enforcement", f"{c[3]} {c[4]}", f"{s[2]} {s[3]}", float(best[k])),
                       field_result("date_of_birth", "enforcement", c[6], s[4], float(dob_factor[k])),
                       *([field_result("document", "enforcement", "shared document number", "shared document number", 1.0)]
                         if has_doc else [])],
            "evidence": {"subject_id": s[0], "subject_ref": s[1], "subject_status": s[5],
                         "threshold": threshold, "document_match": has_doc},
            "summary": ("Links to enforcement subject " if lead else "Near-threshold link to enforcement subject ")
            + f"{s[1]} (score {sc:.2f}).",
        })
    ctx.emit(r_, out)
