"""The generator's lawful variants (issue 17): each kind at its rate, each still the worker's own record."""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pytest
from rapidfuzz.distance import OSA

from synthetic import columns as cols
from synthetic import names as nm
from synthetic import variants as va
from synthetic.generate import build, labels_for
from synthetic.world import DETAILS, VARIANT_SHARES

AS_OF = date(2026, 11, 2)
CASES = 60_000
F = {name: i for i, name in enumerate(cols.CASE_FIELDS)}


@pytest.fixture(scope="module")
def world():
    return build(n_employers=600, n_cases=CASES, seed=17, as_of=AS_OF)


def _kinds(world) -> Counter[str]:
    return Counter(DETAILS[d] for d in world.cl["detail"])


def _record(world, c: int) -> dict[str, str]:
    """The SSA record of case c's worker, as the loader gets it."""
    person = world.cl["person"][c]
    ppl = cols.people(world, person, person + 1)
    return {
        "ssn": ppl.ssn[0],
        "first": ppl.first[0],
        "middle": ppl.middle[0],
        "last": ppl.last[0],
        "dob": ppl.dob[0],
    }


def _digits_apart(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a.replace("-", ""), b.replace("-", ""), strict=True))


def test_each_new_kind_comes_out_at_its_stated_rate(world):
    counts = _kinds(world)
    for kind, share in {**va.LAWFUL_SHARES, **va.CLERICAL_SHARES}.items():
        # Given out by exact counts among the eligible: only rounding is off.
        assert abs(counts[kind] - share * CASES) <= max(2, 0.02 * share * CASES), kind


def test_the_older_kinds_keep_their_rates(world):
    counts = _kinds(world)
    for kind, share in VARIANT_SHARES.items():
        # Bernoulli draws, fewer where a case already had a kind: within a quarter of the share.
        assert 0.75 * share * CASES <= counts[kind] <= 1.1 * share * CASES, kind


def test_every_kind_appears_with_a_lawful_label(world):
    labels = labels_for(world)
    by_kind = Counter((detail, label) for label, detail in labels.values() if detail)
    for kind in va.LAWFUL_SHARES:
        assert by_kind[(kind, "none")] > 0, kind
        assert not [k for (d, lab), k in by_kind.items() if d == kind and lab != "none"]
    assert by_kind[("dob_one_digit", "clerical")] == _kinds(world)["dob_one_digit"]


def test_a_variant_still_matches_its_workers_ssa_record(world):
    # The case and the SSA record found by its SSN are the same person: the names and date of
    # birth differ exactly as the kind says, and in nothing else.
    wrong = []
    for c in np.flatnonzero(np.isin(world.c["detail"], [DETAILS.index(k) for k in va.KINDS])):
        kind = DETAILS[world.cl["detail"][c]]
        v = cols.case_values(world, int(c))
        r = _record(world, int(c))
        first, last, dob = v[F["first_name"]], v[F["last_name"]], v[F["date_of_birth"]]
        same_names = (first, last) == (r["first"], r["last"])
        ok = v[F["ssn"]] == r["ssn"] and (dob == r["dob"]) != (kind == "dob_one_digit")
        ok &= {
            "typo_given": last == r["last"] and OSA.distance(first, r["first"]) == 1,
            "typo_surname": first == r["first"] and OSA.distance(last, r["last"]) == 1,
            "nickname": last == r["last"] and first in nm.NICKNAMES.get(r["first"], ()),
            "transliteration": (
                last == r["last"] and first in nm.TRANSLITERATIONS.get(r["first"], ())
            )
            or (
                first == r["first"]
                and last.split()[0] in nm.TRANSLITERATIONS.get(r["last"].split()[0], ())
                and last.split()[1:] == r["last"].split()[1:]
            ),
            "diacritics_added": (nm.strip_accents(first), nm.strip_accents(last))
            == (r["first"], r["last"])
            and not same_names,
            "compound_second_only": first == r["first"]
            and len(r["last"].split()) == 2
            and last == r["last"].split()[1],
            "compound_added": first == r["first"]
            and len(last.split()) == 2
            and last.split()[0] == r["last"],
            "given_family_swapped": (first, last) == (r["last"], r["first"]) and not same_names,
            "goes_by_middle_name": last == r["last"] and first == r["middle"] != r["first"],
            "dob_one_digit": same_names and _digits_apart(dob, r["dob"]) == 1,
        }[kind]
        if not ok:
            wrong.append((kind, first, last, dob, r))
    assert wrong == []


def test_the_dhs_record_writes_the_names_as_the_ssa_record(world):
    # Noncitizens are compared with DHS too: its record carries the same form of the names.
    for lo in range(0, world.n_people, 20_000):
        ppl = cols.people(world, lo, min(world.n_people, lo + 20_000))
        for j in ppl.dhs:
            row = cols.dhs_dict(ppl, j)
            assert (row["first_name"], row["last_name"]) == (ppl.first[j], ppl.last[j])


def test_the_same_seed_gives_the_same_variants():
    one = build(n_employers=100, n_cases=8_000, seed=5, as_of=AS_OF)
    two = build(n_employers=100, n_cases=8_000, seed=5, as_of=AS_OF)
    other = build(n_employers=100, n_cases=8_000, seed=6, as_of=AS_OF)
    assert (one.c["detail"] == two.c["detail"]).all()
    varied = np.flatnonzero(np.isin(one.c["detail"], [DETAILS.index(k) for k in va.KINDS]))
    assert len(varied) > 100
    assert [cols.case_values(one, int(c)) for c in varied] == [
        cols.case_values(two, int(c)) for c in varied
    ]
    assert not (one.c["detail"] == other.c["detail"]).all()


def test_a_keying_error_changes_one_letter_and_never_the_first():
    for name in ("García", "Smith", "Lee", "Al-Hassan", "Jean-Luc", "Nguyễn"):
        for r in range(0, 5000, 7):
            typed = nm.keying_error(name, r)
            assert typed != name
            assert OSA.distance(typed, name) == 1
            assert typed[0] == name[0]
    assert nm.keying_error("Li", 3) == "Li"  # too short: the generator picks longer names


def test_no_case_carries_a_kind_it_does_not_show(world):
    # The older kinds included: a `diacritics` case has an accent to drop, a `name_typo` case a
    # surname long enough; the DOB and SSN kinds differ in their field only.
    silent = []
    for c in np.flatnonzero(world.c["detail"] > 0).tolist():
        kind = DETAILS[world.cl["detail"][c]]
        v, r = cols.case_values(world, c), _record(world, c)
        names = (v[F["first_name"]], v[F["last_name"]]) != (r["first"], r["last"])
        shows = {
            "stale_citizenship": not names and v[F["citizenship_status"]] == "citizen",
            "dob_day_month_swap": not names and v[F["date_of_birth"]] != r["dob"],
            "dob_one_digit": not names and v[F["date_of_birth"]] != r["dob"],
            "ssn_transposition": not names and v[F["ssn"]] != r["ssn"],
        }.get(kind, names)
        if not shows:
            silent.append((c, kind))
    assert silent == []


def test_a_worker_who_goes_by_the_middle_name_has_no_dhs_record(world):
    # The DHS extract has no middle name: only SSA could show why the given name differs.
    cases = np.flatnonzero(world.c["detail"] == DETAILS.index("goes_by_middle_name"))
    people = world.c["person"][cases]
    assert len(cases)
    assert (world.p["status"][people] == 0).all()
    assert not world.p["stale"][people].any()
