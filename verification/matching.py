"""Name, date and identifier comparison, shared by the instant result and the cross-reference engine.

Wrong mismatches hurt lawful workers, and name problems cause most of them (DOMAIN.md §2), so
names are normalized before they are compared:

- case, diacritics and punctuation are dropped (``normalize_name``);
- hyphen and space variants compare equal ("Garcia-Lopez", "Garcia Lopez", "GarciaLopez");
- compound surnames compare as unordered sets of parts and tolerate a missing part
  ("Lopez Garcia" ~ "Garcia Lopez" ~ "Garcia"); connecting particles (de, del, la, y, al, bin, ...)
  are ignored;
- given names tolerate a second given name, a common nickname, or going by the middle name;
- whatever is left is scored with rapidfuzz; a high score is a lawful spelling variant, a middle
  score a near match for review, and only a low score a mismatch.

Every comparison reports the field, the outcome, both values, a 0-100 score and a hint naming
the kind of variant or clerical error ("reordered", "dob_day_month_swap", ...). The functions
are pure: no database, no settings beyond the two thresholds, so batch code can call them in a
tight loop.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from django.conf import settings
from rapidfuzz import fuzz

from verification.comparison import NICKNAMES, dob_level, is_diminutive, is_romanization, name_level

MATCH = "match"
VARIANT = "variant"
NEAR = "near"
MISMATCH = "mismatch"
NOT_FOUND = "not_found"
FLAG = "flag"

# Connecting particles of compound surnames (Spanish, Portuguese, Dutch, German, Arabic).
PARTICLES = frozenset(
    [
        "de",
        "del",
        "la",
        "las",
        "los",
        "y",
        "e",
        "da",
        "das",
        "do",
        "dos",
        "di",
        "du",
        "van",
        "der",
        "den",
        "ter",
        "von",
        "zu",
        "al",
        "el",
        "bin",
        "ibn",
        "ben",
        "bint",
        "abu",
    ]
)
# Letters NFKD does not decompose into a base letter.
_TRANSLATE = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "đ": "d",
        "Đ": "d",
        "ł": "l",
        "Ł": "l",
        "ß": "ss",
        "ð": "d",
        "þ": "th",
        "\u0131": "i",
    }
)
_APOSTROPHES = {"'", "\u2019", "\u2018", "`", "\u02bc"}
# The loop of `normalize_name` on plain ASCII text (NFKD and combining marks change nothing
# there): apostrophes dropped, every other character that is not a letter or digit a space.
_ASCII_FOLD = str.maketrans(
    {chr(c): None if chr(c) in _APOSTROPHES else " " for c in range(128) if not chr(c).isalnum()}
)


@dataclass(frozen=True)
class FieldResult:
    """The comparison of one field of one source."""

    field: str
    outcome: str
    submitted_value: str = ""
    reference_value: str = ""
    score: float | None = None
    hint: str = ""

    @property
    def disagrees(self) -> bool:
        """True for a mismatch (the field makes the source say TNC)."""
        return self.outcome in (MISMATCH, NOT_FOUND, FLAG)


@dataclass(frozen=True)
class Identity:
    """The names and date of birth of one person, as one side of a comparison."""

    first_name: str
    last_name: str
    date_of_birth: date | None = None
    middle_name: str = ""
    other_last_names: str = ""


def match_score() -> float:
    """At or above this score, a spelling difference is a lawful variant."""
    return float(getattr(settings, "VERIFICATION_NAME_MATCH_SCORE", 88))


def review_score() -> float:
    """At or above this (and below the match score) a name is a near match sent to review."""
    return float(getattr(settings, "VERIFICATION_NAME_REVIEW_SCORE", 75))


@lru_cache(maxsize=65536)
def normalize_name(value: str) -> str:
    """Lower case, no diacritics, apostrophes dropped, other punctuation as spaces, single-spaced."""
    if not value:
        return ""
    text = value.translate(_TRANSLATE)
    if text.isascii():
        return " ".join(text.translate(_ASCII_FOLD).lower().split())
    return _normalize_unicode(text)


def _normalize_unicode(text: str) -> str:
    """`normalize_name` of text past the translation table, character by character."""
    text = unicodedata.normalize("NFKD", text)
    out: list[str] = []
    for ch in text:
        if unicodedata.combining(ch) or ch in _APOSTROPHES:
            continue
        out.append(ch if ch.isalnum() else " ")
    return " ".join("".join(out).casefold().split())


@lru_cache(maxsize=65536)
def name_parts(value: str) -> tuple[str, ...]:
    """The significant parts of a name: normalized, split on spaces and hyphens, particles dropped."""
    parts = normalize_name(value).split()
    significant = tuple(p for p in parts if p not in PARTICLES)
    return significant or tuple(parts)


def name_key(value: str) -> str:
    """An order-free key of a name's parts, for blocking and grouping."""
    return " ".join(sorted(name_parts(value)))


def name_similarity(a: str, b: str) -> float:
    """0-100: the best of plain, order-free and joined-up similarity of two normalized names."""
    na, nb = normalize_name(a), normalize_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 100.0
    joined = fuzz.ratio(na.replace(" ", ""), nb.replace(" ", ""))
    return float(max(fuzz.ratio(na, nb), fuzz.token_sort_ratio(na, nb), joined))


def _score_outcome(
    field: str, submitted: str, reference: str, score: float, hint: str
) -> FieldResult:
    """The outcome of a name the rules above did not settle, on the shared comparison scale
    (`verification.comparison`, the linkage model's too) and the similarity score, whichever is kinder:
    a close spelling is a variant; a looser one, another spelling of the same sound, a
    transliteration, a nickname or an initial goes to review; only a different name is a mismatch."""
    level = name_level(normalize_name(submitted), normalize_name(reference))
    if 0 <= level <= 1 or score >= match_score():
        return FieldResult(
            field, VARIANT, submitted, reference, round(score, 1), hint or "spelling"
        )
    if level in (2, 3, 4):
        hint = hint or {2: "spelling", 3: "alternate_form", 4: "initial"}[level]
        return FieldResult(field, NEAR, submitted, reference, round(score, 1), hint)
    if score >= match_score():
        return FieldResult(
            field, VARIANT, submitted, reference, round(score, 1), hint or "spelling"
        )
    if score >= review_score():
        return FieldResult(field, NEAR, submitted, reference, round(score, 1), hint or "spelling")
    return FieldResult(field, MISMATCH, submitted, reference, round(score, 1), hint)


def compare_surname(
    submitted: str, reference: str, *, submitted_other: str = "", reference_other: str = ""
) -> FieldResult:
    """Compare last names: compound parts unordered, a missing part tolerated, other names used."""
    field = "last_name"
    ns, nr = normalize_name(submitted), normalize_name(reference)
    if submitted == reference or (ns and ns == nr):
        hint = "" if submitted == reference else "case_diacritics_punctuation"
        return FieldResult(field, MATCH if not hint else VARIANT, submitted, reference, 100.0, hint)
    if ns.replace(" ", "") == nr.replace(" ", "") and ns:
        return FieldResult(field, VARIANT, submitted, reference, 100.0, "hyphen_space")
    sp, rp = set(name_parts(submitted)), set(name_parts(reference))
    if sp and rp:
        if sp == rp:
            hint = (
                "particle"
                if name_parts(submitted) == name_parts(reference)
                else "compound_reordered"
            )
            return FieldResult(field, VARIANT, submitted, reference, 100.0, hint)
        if sp < rp or rp < sp:
            score = float(fuzz.token_set_ratio(ns, nr))
            return FieldResult(
                field, VARIANT, submitted, reference, round(score, 1), "compound_part_missing"
            )
    for other in filter(None, (o.strip() for o in submitted_other.split(","))):
        if name_parts(other) and set(name_parts(other)) <= rp:
            return FieldResult(field, VARIANT, submitted, reference, 100.0, "other_last_name")
    for other in filter(None, (o.strip() for o in reference_other.split(","))):
        if name_parts(other) and set(name_parts(other)) <= sp:
            return FieldResult(field, VARIANT, submitted, reference, 100.0, "other_last_name")
    if len(sp) == 1 and len(rp) == 1 and is_romanization(next(iter(sp)), next(iter(rp))):
        return FieldResult(field, VARIANT, submitted, reference, 100.0, "romanization")
    score = name_similarity(submitted, reference)
    # A typo in one part of a compound surname: score the best part-to-part pairing.
    if len(sp) > 1 or len(rp) > 1:
        shorter, longer = (sp, rp) if len(sp) <= len(rp) else (rp, sp)
        paired = [max(fuzz.ratio(p, q) for q in longer) for p in shorter]
        score = max(score, sum(paired) / len(paired))
    return _score_outcome(field, submitted, reference, score, "")


def _given_equivalent(a: str, b: str) -> bool:
    return (
        a == b or b in NICKNAMES.get(a, frozenset()) or is_diminutive(a, b) or is_romanization(a, b)
    )


def compare_given_name(
    submitted: str, reference: str, *, reference_middle: str = ""
) -> FieldResult:
    """Compare first names: a second given name, a nickname or the middle name tolerated."""
    field = "first_name"
    ns, nr = normalize_name(submitted), normalize_name(reference)
    if submitted == reference or (ns and ns == nr):
        hint = "" if submitted == reference else "case_diacritics_punctuation"
        return FieldResult(field, MATCH if not hint else VARIANT, submitted, reference, 100.0, hint)
    if ns.replace(" ", "") == nr.replace(" ", "") and ns:
        return FieldResult(field, VARIANT, submitted, reference, 100.0, "hyphen_space")
    sp, rp = normalize_name(submitted).split(), normalize_name(reference).split()
    if sp and rp and sp[0] == rp[0]:
        return FieldResult(field, VARIANT, submitted, reference, 100.0, "second_given_name")
    if sp and rp and (set(sp) <= set(rp) or set(rp) <= set(sp)):
        return FieldResult(field, VARIANT, submitted, reference, 100.0, "second_given_name")
    if sp and rp and _given_equivalent(sp[0], rp[0]):
        return FieldResult(field, VARIANT, submitted, reference, 100.0, "nickname")
    middle = normalize_name(reference_middle)
    if middle and ns and (ns == middle or ns in middle.split()):
        return FieldResult(field, VARIANT, submitted, reference, 100.0, "goes_by_middle_name")
    return _score_outcome(field, submitted, reference, name_similarity(submitted, reference), "")


def compare_dob(submitted: date, reference: date) -> FieldResult:
    """Dates of birth: equal, a day/month swap (a clerical error, still a mismatch), or different."""
    sub, ref = submitted.isoformat(), reference.isoformat()
    if submitted == reference:
        return FieldResult("date_of_birth", MATCH, sub, ref, 100.0)
    if (
        submitted.year == reference.year
        and submitted.day == reference.month
        and submitted.month == reference.day
    ):
        return FieldResult("date_of_birth", MISMATCH, sub, ref, 0.0, "dob_day_month_swap")
    if dob_level(submitted, reference) == 2:  # one digit of YYYYMMDD: a keying slip
        return FieldResult("date_of_birth", MISMATCH, sub, ref, 0.0, "dob_one_digit")
    if submitted.month == reference.month and submitted.day == reference.day:
        return FieldResult("date_of_birth", MISMATCH, sub, ref, 0.0, "dob_year_differs")
    return FieldResult("date_of_birth", MISMATCH, sub, ref, 0.0)


def compare_identity(submitted: Identity, reference: Identity) -> list[FieldResult]:
    """Last name, first name and date of birth of two identities, each with outcome and score.

    A person who entered given and family names in the other order (common for East Asian
    names) gets a lawful variant on both name fields.
    """
    last = compare_surname(
        submitted.last_name,
        reference.last_name,
        submitted_other=submitted.other_last_names,
        reference_other=reference.other_last_names,
    )
    first = compare_given_name(
        submitted.first_name, reference.first_name, reference_middle=reference.middle_name
    )
    if last.disagrees and first.disagrees:
        swapped_last = compare_surname(submitted.first_name, reference.last_name)
        swapped_first = compare_given_name(submitted.last_name, reference.first_name)
        if (
            not swapped_last.disagrees
            and not swapped_first.disagrees
            and swapped_last.outcome != NEAR
        ):
            last = FieldResult(
                "last_name",
                VARIANT,
                submitted.last_name,
                reference.last_name,
                swapped_last.score,
                "given_family_swapped",
            )
            first = FieldResult(
                "first_name",
                VARIANT,
                submitted.first_name,
                reference.first_name,
                swapped_first.score,
                "given_family_swapped",
            )
    results = [last, first]
    if submitted.date_of_birth is not None and reference.date_of_birth is not None:
        dob = compare_dob(submitted.date_of_birth, reference.date_of_birth)
        if dob.outcome == MATCH:
            results = one_slip_forgiven(last, first)
        results.append(dob)
    return results


# A near name that the rest of the identity outweighs: a spelling one keystroke off (level 2 of
# the shared scale) or another spelling of the same sound, a transliteration (level 3:
# Khaled/Khalid, Yousif/Yusuf), on one name only.
FORGIVEN_LEVELS = (2, 3)


def one_slip_forgiven(last: FieldResult, first: FieldResult) -> list[FieldResult]:
    """Last and first name, with a lone near name made a variant when the identity agrees.

    The caller found the reference by its identifier (SSN or A-Number) and the date of birth is
    the same. Then one name a keystroke off, or spelt as it sounds, with the other name agreeing,
    is how a lawful worker's record looks (issue 17: a typo or a transliteration is not a
    mismatch), and not how identity fraud looks: a borrowed identity comes with its owner's exact
    name, a bought number with the buyer's own, different name. Both names near, an initial
    only, or a different name stay as they were.
    """
    pair = [last, first]
    if last.outcome != NEAR and first.outcome != NEAR:
        return pair  # nothing to forgive (most identities)
    near = [r for r in pair if r.outcome == NEAR]
    other = [r for r in pair if r.outcome != NEAR]
    if len(near) != 1 or other[0].outcome not in (MATCH, VARIANT):
        return pair
    slip = near[0]
    level = name_level(normalize_name(slip.submitted_value), normalize_name(slip.reference_value))
    if level not in FORGIVEN_LEVELS:
        return pair
    forgiven = FieldResult(
        slip.field, VARIANT, slip.submitted_value, slip.reference_value, slip.score, slip.hint
    )
    return [forgiven if r is slip else r for r in pair]


def ssn_transpositions(ssn: str) -> list[str]:
    """Every SSN that differs from `ssn` by swapping two adjacent digits (a keying error)."""
    digits = list(ssn)
    out: list[str] = []
    for i in range(len(digits) - 1):
        if digits[i] != digits[i + 1]:
            swapped = digits.copy()
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            out.append("".join(swapped))
    return out


def worst(results: list[FieldResult]) -> str:
    """The overall outcome of several field results: mismatch > near > variant > match."""
    order = [MATCH, VARIANT, NEAR, MISMATCH, NOT_FOUND, FLAG]
    return max((r.outcome for r in results), key=order.index, default=MATCH)
