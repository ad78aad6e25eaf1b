"""ENF-LINK's match model: comparison levels, blocking that survives one bad field, EM that recovers
known parameters, the regression cases of the linkage issue, and training as an audited operation."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from crossref import selectors
from crossref.linkage import blocking, em, model, training
from crossref.linkage.model import DEFAULT, FIELD_INDEX, FIELDS, Parameters
from crossref.linkage.subjects import forget
from crossref.models import Finding, LinkageModel, Partition
from crossref.rules import enforcement
from privacy import crypto
from tests.crossref.test_rules_identity import findings, run_rules
from verification.comparison import (
    close_names,
    dob_level,
    dob_levels,
    identifier_level,
    name_level,
    name_levels,
    ordinal_dates,
)
from verification.matching import normalize_name

DOB = date(1979, 4, 23)


def levels_of(finding: Finding) -> dict[str, str]:
    return {f["field"]: f["level"] for f in finding.fields}


def weights_of(finding: Finding) -> dict[str, float]:
    return {f["field"]: f["weight"] for f in finding.fields}


# --- Comparison levels ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("Garcia Lopez", "Lopez Garcia", "exact"),  # word order aside
        ("Garcia-Lopez", "Garcia Lopez", "exact"),  # hyphen for a space
        ("Katherine", "Katharine", "close"),  # one letter (Jaro-Winkler >= 0.94)
        ("Garcia", "Garcia Lopez", "close"),  # a compound surname in part
        ("Jon", "John", "similar"),  # one edit
        ("Mendoza", "Mendosa", "close"),
        ("Wojciechowski", "Wojciehowsky", "close"),
        ("Catherine", "Katherine", "similar"),
        ("Mohammed", "Muhammad", "alternate"),  # a transliteration
        ("Bill", "William", "alternate"),  # a nickname
        ("J", "John", "initial"),
        ("Maria", "Olga", "different"),
        ("", "Olga", "missing"),
        ("", "", "missing"),  # two empty names are two missing values, never a match
    ],
)
def test_name_levels(a, b, level):
    got = name_level(normalize_name(a), normalize_name(b))
    assert (model.FIELDS[0].levels[got] if got >= 0 else "missing") == level


def test_close_names_is_name_levels_exact_or_close():
    # The swap test asks only "exact or close" and skips the sounds and nicknames: it must agree
    # with the full comparison on every kind of pair, names of several words and empty ones too.
    base = [
        "maria",
        "mariah",
        "garcia lopez",
        "lopez garcia",
        "garcia",
        "de leon",
        "deleon",
        "katherine",
        "katharine",
        "catherine",
        "bill",
        "william",
        "j",
        "mohammed",
        "muhammad",
        "wojciechowski",
        "wojciehowsky",
        "ann",
        "mary ann",
        "ann mary",
        "li",
        "lee",
        "",
    ]
    rng = np.random.default_rng(11)
    left = [base[i] for i in rng.integers(0, len(base), 3_000)]
    right = [base[i] for i in rng.integers(0, len(base), 3_000)]
    full = name_levels(left, right)
    got = close_names(left, right)
    assert got.tolist() == ((full >= 0) & (full <= 1)).tolist()
    assert 0 < got.sum() < len(got)


def test_ordinal_dates_is_the_calendar():
    # Integer calendar arithmetic against Python's dates: every seventh day of years 1 to 9999,
    # the leap days around 1900, 2000 and 2100, and the two ends.
    ordinals = np.concatenate(
        [
            np.arange(1, date.max.toordinal() + 1, 7),
            [date(y, 2, 28).toordinal() + k for y in (1900, 2000, 2100) for k in range(3)],
            [1, date.max.toordinal()],
        ]
    )
    year, month, day = ordinal_dates(ordinals)
    got = [date(int(y), int(m), int(d)) for y, m, d in zip(year, month, day, strict=True)]
    assert got == [date.fromordinal(int(o)) for o in ordinals]
    assert [a.tolist() for a in ordinal_dates(np.array([0, -3]))] == [[1, 1], [1, 1], [1, 1]]


def test_dob_levels():
    o = date.toordinal
    pairs = [
        (date(1979, 4, 23), date(1979, 4, 23), "exact"),
        (date(1979, 4, 11), date(1979, 11, 4), "day_month_swapped"),
        (date(1979, 4, 23), date(1979, 4, 28), "one_digit"),
        (date(1979, 4, 23), date(1978, 4, 23), "one_digit"),  # the year one off is one digit here
        (date(1979, 4, 23), date(1980, 4, 23), "year_off"),  # ...and not here
        (date(1979, 4, 23), date(1979, 9, 23), "one_digit"),
        (date(1979, 4, 23), date(1979, 12, 23), "one_component"),
        (date(1939, 11, 23), date(1939, 12, 13), "two_digits"),
        (date(1979, 4, 23), date(1960, 1, 2), "different"),
    ]
    got = dob_levels(np.array([o(a) for a, _, _ in pairs]), np.array([o(b) for _, b, _ in pairs]))
    assert [model.FIELDS[2].levels[g] for g in got] == [level for _, _, level in pairs]
    assert dob_levels(np.array([0, o(DOB)]), np.array([o(DOB), 0])).tolist() == [-1, -1]


def test_dob_level_of_one_pair_is_dob_levels_of_it():
    # Each slip of a date of birth, and dates drawn apart, through both the scalar and the array path.
    start = date(1900, 1, 1).toordinal()
    rng = np.random.default_rng(7)
    left = [date.fromordinal(start + int(d)) for d in rng.integers(0, 45_000, 2_000)]
    slips = [
        lambda d: d,
        lambda d: d.replace(year=d.year + 1),
        lambda d: d.replace(year=d.year - 10),
        lambda d: d.replace(year=d.year + 9),
        lambda d: d.replace(month=d.day, day=d.month) if d.day <= 12 else d,
        lambda d: d + timedelta(days=int(rng.integers(-40, 40))),
        lambda d: date.fromordinal(start + int(rng.integers(0, 45_000))),
    ]
    pairs: list[tuple[date | None, date | None]] = [(a, slip(a)) for a in left for slip in slips]
    pairs += [(None, DOB), (DOB, None), (None, None)]
    o = [(a.toordinal() if a else 0, b.toordinal() if b else 0) for a, b in pairs]
    expected = dob_levels(np.array([a for a, _ in o]), np.array([b for _, b in o])).tolist()
    assert [dob_level(a, b) for a, b in pairs] == expected
    assert set(expected) == {-1, 0, 1, 2, 3, 4, 5, 6}  # every level was reached


def test_identifier_levels():
    assert identifier_level("123456789", "123456789") == 0
    assert identifier_level("123456789", "123456780") == 1  # one digit
    assert identifier_level("123456789", "123465789") == 1  # two adjacent digits exchanged
    assert identifier_level("123456789", "123456700") == 2  # two digits
    assert identifier_level("123456789", "213456780") == 2  # an exchange and a digit
    assert identifier_level("123456789", "987654321") == 3
    assert identifier_level("", "123456789") == -1


def test_a_missing_value_adds_no_weight():
    levels = np.full((1, len(FIELDS)), -1, dtype=np.int8)
    got = model.score(DEFAULT, levels)
    assert got.weights.tolist() == [[0.0] * len(FIELDS)]
    assert got.log_odds[0] == pytest.approx(DEFAULT.prior_weight)


def test_a_common_name_agreeing_says_less_than_a_rare_one():
    levels = np.full((2, len(FIELDS)), -1, dtype=np.int8)
    levels[:, FIELD_INDEX["family"]] = 0
    tf = {"family": np.array([2_500.0, 1.0]), "given": np.array([np.nan, np.nan])}
    got = model.score(DEFAULT, levels, tf, {"family": 250_000, "given": 250_000})
    common, rare = got.weights[:, FIELD_INDEX["family"]]
    assert rare > common + 5  # 1 name in 250k against 1 in 100


def test_names_the_wrong_way_round_weigh_by_the_frequency_of_the_names():
    """A common name exchanged says less than a rare one, and never more than the same names
    agreeing the right way round (the flat weight of the level alone said more for "John Smith");
    a rare one keeps the level's own weight."""
    swapped = np.full((2, len(FIELDS)), -1, dtype=np.int8)
    swapped[:, FIELD_INDEX["given"]] = model.SWAPPED
    tf = {"given": np.array([3_000.0, 1.0]), "family": np.array([2_500.0, 2.0])}
    totals = {"given": 250_000, "family": 250_000}
    common, rare = model.score(DEFAULT, swapped, tf, totals).weights[:, FIELD_INDEX["given"]]
    level = DEFAULT.weight_table()[FIELD_INDEX["given"]][model.SWAPPED]
    assert rare == pytest.approx(level)
    assert common < level - 1
    straight = np.full((2, len(FIELDS)), -1, dtype=np.int8)
    straight[:, FIELD_INDEX["given"]] = straight[:, FIELD_INDEX["family"]] = 0
    right_way = model.score(DEFAULT, straight, tf, totals).weights.sum(axis=1)
    assert (model.score(DEFAULT, swapped, tf, totals).weights.sum(axis=1) <= right_way + 1e-9).all()
    # Without term frequencies (no counts), the level keeps its own weight.
    flat = model.score(DEFAULT, swapped).weights[0, FIELD_INDEX["given"]]
    assert flat == DEFAULT.weight_table()[FIELD_INDEX["given"]][model.SWAPPED]


# --- Blocking -----------------------------------------------------------------------------------
CORRUPTIONS = {
    "surname typo": ("Carlos", "Mendosa", date(1969, 8, 30)),
    "surname replaced": ("Carlos", "Whitfield", date(1969, 8, 30)),
    "given replaced": ("Charles", "Mendoza", date(1969, 8, 30)),
    "names swapped": ("Mendoza", "Carlos", date(1969, 8, 30)),
    "day wrong": ("Carlos", "Mendoza", date(1969, 8, 3)),
    "month wrong": ("Carlos", "Mendoza", date(1969, 3, 30)),
    "year wrong": ("Carlos", "Mendoza", date(1996, 8, 30)),
    "day and month swapped": ("Carlos", "Mendoza", date(1969, 3, 8)),
    # Two errors at once, as enforcement records often carry: the sound of the surname changed
    # and the year wrong; the names the wrong way round and the day wrong.
    "surname respelt, year wrong": ("Carlos", "Mendora", date(1970, 8, 30)),
    "names swapped, day wrong": ("Mendoza", "Carlos", date(1969, 8, 13)),
    "names swapped, day and month swapped": ("Mendoza", "Carlos", date(1969, 3, 8)),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_no_single_bad_field_loses_the_pair_in_blocking(corruption):
    first, last, born = CORRUPTIONS[corruption]
    born_subject = date(1969, 8, 3) if "day and month swapped" in corruption else date(1969, 8, 30)
    subject = blocking.name_keys(
        ["carlos"], ["mendoza"], np.array([born_subject.toordinal()]), undated_only=True
    )
    case = blocking.name_keys(
        [normalize_name(first)],
        [normalize_name(last)],
        np.array([born.toordinal()]),
        undated_only=False,
    )
    shared = set(case.ravel().tolist()) & set(subject.ravel().tolist()) - {int(blocking.NONE)}
    assert shared, corruption


@pytest.mark.parametrize(
    ("case_family", "subject_family"), [("Rei D", "Reid"), ("DeLeon", "De Leon")]
)
def test_a_space_slipped_into_or_out_of_a_surname_keeps_the_pair_in_a_block(
    case_family, subject_family
):
    """The given name replaced, so only the surname (equal once spaces go) can block the pair."""
    born = np.array([date(1928, 7, 14).toordinal()])
    subject = blocking.name_keys(
        ["harry"], [normalize_name(subject_family)], born, undated_only=True
    )
    case = blocking.name_keys(["william"], [normalize_name(case_family)], born, undated_only=False)
    shared = set(case.ravel().tolist()) & set(subject.ravel().tolist()) - {int(blocking.NONE)}
    assert "surname_dob" in {blocking.RULES[r] for r in blocking.rule_of(np.array(sorted(shared)))}
    other = blocking.name_keys(["william"], ["rossi"], born, undated_only=False)
    assert not set(other.ravel().tolist()) & set(subject.ravel().tolist()) - {int(blocking.NONE)}


def test_an_undated_subject_still_has_a_name_key():
    subject = blocking.name_keys(["carlos"], ["mendoza"], np.array([0]), undated_only=True)
    case = blocking.name_keys(
        ["carlos"], ["mendoza"], np.array([DOB.toordinal()]), undated_only=False
    )
    assert set(case.ravel().tolist()) & set(subject.ravel().tolist()) - {int(blocking.NONE)}


# --- Names that go together ---------------------------------------------------------------------
def test_both_names_agreeing_are_not_counted_as_two_independent_coincidences():
    levels = np.full((2, len(FIELDS)), -1, dtype=np.int8)
    levels[:, FIELD_INDEX["given"]] = 0
    levels[0, FIELD_INDEX["family"]] = 0  # both exact
    levels[1, FIELD_INDEX["family"]] = 1  # the surname one letter off
    alone = Parameters(DEFAULT.m, DEFAULT.u, DEFAULT.prior, names_joint=1.0)
    together = Parameters(DEFAULT.m, DEFAULT.u, DEFAULT.prior, names_joint=8.0)
    a, b = model.score(alone, levels), model.score(together, levels)
    assert a.log_odds[0] - b.log_odds[0] == pytest.approx(3.0)  # log2(8) given back
    assert a.log_odds[1] == b.log_odds[1]  # only where both agree exactly


def test_training_measures_how_much_names_go_together():
    from crossref.linkage.training import _names_joint

    rng = np.random.default_rng(5)
    n = 200_000
    levels = np.full((n, len(FIELDS)), 6, dtype=np.int8)
    given = rng.random(n) < 0.05
    family = rng.random(n) < 0.04
    levels[given, FIELD_INDEX["given"]] = 0
    levels[family, FIELD_INDEX["family"]] = 0
    assert _names_joint(levels) == pytest.approx(1.0, abs=0.15)  # independent
    # One origin in ten: its given names and surnames come from its own small pools together.
    origin = rng.random(n) < 0.1
    levels[:, FIELD_INDEX["given"]] = np.where(origin & (rng.random(n) < 0.3), 0, 6)
    levels[:, FIELD_INDEX["family"]] = np.where(origin & (rng.random(n) < 0.3), 0, 6)
    assert _names_joint(levels) == pytest.approx(10.0, rel=0.15)  # 0.009 / (0.03 x 0.03)
    assert _names_joint(np.full((0, len(FIELDS)), -1, dtype=np.int8)) == 1.0


def test_parameters_stored_before_the_new_levels_still_load():
    """A model trained before the year-only date level, the country field and names_joint."""
    stored = DEFAULT.as_json()
    old_m = {k: list(v) for k, v in DEFAULT.m.items() if k != "country"}
    old_u = {k: list(v) for k, v in DEFAULT.u.items() if k != "country"}
    old_m["dob"], old_u["dob"] = old_m["dob"][:-1], old_u["dob"][:-1]
    got = Parameters.from_json({"m": old_m, "u": old_u, "prior": stored["prior"]}, "v1")
    assert got.m["dob"][-1] == DEFAULT.m["dob"][-1]
    assert got.u["country"] == DEFAULT.u["country"]
    assert got.names_joint == model.NAMES_JOINT
    assert len(got.weight_table()[FIELD_INDEX["dob"]]) == len(FIELDS[FIELD_INDEX["dob"]].levels)
    with pytest.raises(ValueError, match="names_joint"):
        Parameters.from_json({**stored, "names_joint": 0.5}, "v2")


# --- EM -----------------------------------------------------------------------------------------
def _simulate(params: Parameters, n_pairs: int, match_share: float, seed: int) -> np.ndarray:
    """Comparison vectors drawn from known m (matches) and u (non-matches), some values missing."""
    rng = np.random.default_rng(seed)
    is_match = rng.random(n_pairs) < match_share
    out = np.empty((n_pairs, len(FIELDS)), dtype=np.int8)
    for j, f in enumerate(FIELDS):
        m, u = np.asarray(params.m[f.name]), np.asarray(params.u[f.name])
        out[:, j] = np.where(
            is_match,
            rng.choice(len(m), size=n_pairs, p=m / m.sum()),
            rng.choice(len(u), size=n_pairs, p=u / u.sum()),
        )
    out[rng.random(out.shape) < 0.05] = -1  # missing values
    return out


def test_em_recovers_known_m_and_u_within_tolerance():
    truth = Parameters(
        m={
            "given": (0.70, 0.10, 0.06, 0.05, 0.02, 0.02, 0.03, 0.02),
            "family": (0.75, 0.08, 0.07, 0.04, 0.01, 0.02, 0.03),
            "dob": (0.80, 0.04, 0.06, 0.03, 0.04, 0.01, 0.01, 0.01),
            "country": (0.92, 0.08),
            "ssn": (0.85, 0.05, 0.03, 0.07),
            "a_number": (0.85, 0.05, 0.03, 0.07),
            "document": (0.9, 0.1),
        },
        u={
            "given": (0.02, 0.01, 0.02, 0.03, 0.01, 0.06, 0.8499, 0.0001),
            "family": (0.01, 0.01, 0.02, 0.02, 0.005, 0.05, 0.885),
            "dob": (0.01, 0.002, 0.02, 0.003, 0.05, 0.02, 0.885, 0.01),
            "country": (0.1, 0.9),
            "ssn": (0.001, 0.004, 0.01, 0.985),
            "a_number": (0.001, 0.004, 0.01, 0.985),
            "document": (0.001, 0.999),
        },
        prior=1e-4,
    )
    u_hat = em.estimate_u(_simulate(truth, 400_000, 0.0, seed=1))
    for f in FIELDS:
        assert np.allclose(u_hat[f.name], truth.u[f.name], atol=0.004), f.name
    pairs = _simulate(truth, 60_000, 0.2, seed=2)
    got = em.estimate_m(pairs, u_hat, DEFAULT.m, [f.name for f in FIELDS], share_start=0.5)
    assert got.converged
    assert got.match_share == pytest.approx(0.2, abs=0.01)
    for f in FIELDS:
        assert np.allclose(got.m[f.name], truth.m[f.name], atol=0.02), (f.name, got.m[f.name])


def test_u_from_random_pairs_leaves_out_the_matches_among_them():
    """In a file dense in duplicates, random pairs agree on the SSN mostly because they are matches."""
    truth = Parameters(
        m={**DEFAULT.m, "ssn": (0.9, 0.04, 0.02, 0.04)},
        u={**DEFAULT.u, "ssn": (1e-7, 1e-6, 1e-5, 1 - 1e-7 - 1e-6 - 1e-5)},
        prior=2e-3,
    )
    levels = _simulate(truth, 400_000, 2e-3, seed=3)
    ssn = FIELD_INDEX["ssn"]
    raw = em.estimate_u(levels)["ssn"][0]
    unmixed = em.estimate_u(levels, truth.m, 2e-3)["ssn"][0]
    assert raw > 1e-3  # the matches' SSN agreement, read as chance agreement
    assert unmixed < raw / 20
    assert (levels[:, ssn] == 0).sum() > 500  # the sample did hold matches agreeing on the SSN
    weights = Parameters(truth.m, em.estimate_u(levels, truth.m, 2e-3), 2e-3).weight_table()
    assert weights[ssn][0] > 12  # a shared SSN is strong evidence again


# --- The regressions of the linkage issue (on the stated defaults) ---------------------------------
def test_a_subject_with_only_a_surname_and_an_ssn_links_through_the_ssn(world, matcher):
    emp = world.employer()
    world.subject("S-P", "", "Volkov", None, docs=[("ssn", "521874390")])
    case = world.case(emp, "521874390", "Viktor", "Volkov", date(1961, 5, 5))
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")[case.pk]
    assert got.severity == "high"
    assert levels_of(got) == {
        "given": "missing",
        "family": "exact",
        "dob": "missing",
        "country": "missing",
        "ssn": "exact",
        "a_number": "missing",
        "document": "missing",
    }
    assert weights_of(got)["given"] == 0
    assert weights_of(got)["dob"] == 0


@pytest.mark.parametrize("placeholder", ["Unknown", "UNKNOWN", "FNU"])
def test_a_placeholder_given_name_is_missing_not_a_different_name(world, matcher, placeholder):
    """The I-9 has a worker with one name enter "Unknown" as the first name: no evidence either way."""
    emp = world.employer()
    world.subject("S-1", "Amara", "Okonkwo", DOB, docs=[("ssn", "521874390")])
    case = world.case(emp, "521874390", placeholder, "Okonkwo", DOB)
    lookalike = world.case(emp, "600000009", "Chidi", "Okonkwo", DOB)
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    assert levels_of(got[case.pk])["given"] == "missing"
    assert weights_of(got[case.pk])["given"] == 0
    assert got[case.pk].severity == "high"
    # A real given name that disagrees still counts against: only the placeholder is missing.
    if lookalike.pk in got:
        assert levels_of(got[lookalike.pk])["given"] == "different"
        assert got[lookalike.pk].score < got[case.pk].score


def test_a_subject_known_by_the_year_of_birth_only_counts_the_year_not_the_day(world, matcher):
    """Enforcement records write a year of birth alone as 1 January: the same year is evidence for,
    the day and month they lack none against."""
    emp = world.employer()
    world.subject("S-1", "Kavya", "Raghunathan", date(1960, 1, 1), docs=[("ssn", "521874390")])
    world.subject("S-2", "Omar", "Haddad", date(1960, 3, 4), docs=[("ssn", "521874391")])
    same_year = world.case(emp, "521874390", "Kavya", "Raghunathan", date(1960, 7, 23))
    dated = world.case(emp, "521874391", "Omar", "Haddad", date(1960, 7, 23))
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    assert levels_of(got[same_year.pk])["dob"] == "same_year_day_unknown"
    assert weights_of(got[same_year.pk])["dob"] > 0
    assert got[same_year.pk].severity == "high"
    # A subject with a full date that disagrees keeps the evidence against.
    assert levels_of(got[dated.pk])["dob"] == "different"
    assert weights_of(got[dated.pk])["dob"] < 0


def test_the_country_of_a_case_meets_the_subjects_nationality(world, matcher):
    """The passport's country, else the country of birth on the DHS record of the case's A-Number."""
    emp = world.employer()
    born = date(1988, 2, 3)
    world.subject("S-1", "Amina", "Yusuf", born, nationality="NGA")
    world.dhs(a_number="A201234567", first="Amina", last="Yusuf", dob=born, country="NGA")
    world.dhs(a_number="A201234568", first="Amina", last="Yusuf", dob=born, country="KEN")
    same = world.case(emp, "521874390", "Amina", "Yusuf", born, a_number="A201234567")
    other = world.case(emp, "521874391", "Amina", "Yusuf", born, a_number="A201234568")
    unknown = world.case(emp, "521874392", "Amina", "Yusuf", born)
    passport = world.case(emp, "521874393", "Amina", "Yusuf", born, passport_country="NGA")
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    assert levels_of(got[same.pk])["country"] == "exact"
    assert weights_of(got[same.pk])["country"] > 0
    assert levels_of(got[passport.pk])["country"] == "exact"
    assert levels_of(got[unknown.pk])["country"] == "missing"
    assert weights_of(got[unknown.pk])["country"] == 0
    assert levels_of(got[other.pk])["country"] == "different"
    assert weights_of(got[other.pk])["country"] < 0
    assert got[same.pk].score > got[unknown.pk].score > got[other.pk].score
    shown = lambda case: {f["field"]: (f["submitted"], f["reference"]) for f in got[case.pk].fields}  # noqa: E731
    assert shown(passport)["country"] == ("NGA", "NGA")
    # A country of birth read off the DHS record is DHS data: the finding names its source only.
    assert shown(same)["country"] == (enforcement.COUNTRY_FROM_DHS, "NGA")
    assert shown(unknown)["country"] == ("", "NGA")


def test_a_subject_known_by_the_year_of_birth_only_still_disagrees_on_another_year(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Kavya", "Raghunathan", date(1960, 1, 1), docs=[("ssn", "521874390")])
    other_year = world.case(emp, "521874390", "Kavya", "Raghunathan", date(1963, 7, 21))
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")[other_year.pk]
    assert levels_of(got)["dob"] == "different"
    assert weights_of(got)["dob"] < 0


def test_a_date_known_by_its_year_gets_a_blocking_key_of_its_own():
    subject = blocking.name_keys(
        ["kavya"], ["raghunathan"], np.array([date(1960, 1, 1).toordinal()]), undated_only=True
    )
    case = blocking.name_keys(
        ["kavya"], ["raghunathan"], np.array([date(1960, 2, 9).toordinal()]), undated_only=False
    )
    shared = set(case.ravel().tolist()) & set(subject.ravel().tolist()) - {int(blocking.NONE)}
    assert {blocking.RULES[r] for r in blocking.rule_of(np.array(sorted(shared)))} == {
        "year_only_names"
    }
    # A subject with a full date of another day makes no such key.
    dated = blocking.name_keys(
        ["kavya"], ["raghunathan"], np.array([date(1960, 3, 1).toordinal()]), undated_only=True
    )
    assert not set(case.ravel().tolist()) & set(dated.ravel().tolist()) - {int(blocking.NONE)}


def test_given_name_and_surname_the_wrong_way_round(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Wei", "Zhang", DOB)
    case = world.case(emp, "600000001", "Zhang", "Wei", DOB)
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")[case.pk]
    assert got.severity == "high"
    assert levels_of(got)["given"] == "swapped_with_surname"
    assert levels_of(got)["family"] == "missing"  # not counted twice


def test_an_ssn_typo_is_evidence_for_not_against(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Radu", "Petrescu", DOB, docs=[("ssn", "521874390")])
    typo = world.case(emp, "521874391", "Radu", "Petrescu", DOB)
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")[typo.pk]
    assert levels_of(got)["ssn"] == "one_off"
    assert weights_of(got)["ssn"] > 0
    assert got.severity == "high"


def test_a_date_of_birth_one_digit_off_is_still_found(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Radu", "Petrescu", DOB)
    case = world.case(emp, "600000002", "Radu", "Petrescu", date(1979, 4, 28))
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")[case.pk]
    assert levels_of(got)["dob"] == "one_digit"
    assert weights_of(got)["dob"] > 0
    assert got.score >= 0.5


def test_a_case_whose_only_agreement_is_the_ssn_is_for_review(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Radu", "Petrescu", DOB, docs=[("ssn", "521874390")])
    case = world.case(emp, "521874390", "Maria", "Lopez", date(1990, 1, 1))
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")[case.pk]
    assert got.severity == "low"
    assert got.evidence["document_only"] is True
    assert levels_of(got)["ssn"] == "exact"
    assert weights_of(got)["given"] < 0
    assert weights_of(got)["dob"] < 0


def test_candidate_pairs_are_counted_per_blocking_rule(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Radu", "Petrescu", DOB, docs=[("ssn", "521874390")])
    world.case(emp, "521874390", "Radu", "Petrescu", DOB)
    run = run_rules(matcher, "ENF-LINK")
    totals: dict[str, int] = {}
    for part in Partition.objects.filter(run=run):
        for rule_name, n in part.candidates.items():
            totals[rule_name] = totals.get(rule_name, 0) + n
    assert set(totals) == {*blocking.RULES, "beyond_reach"}
    assert selectors.run_progress(run=run).candidate_pairs == totals
    assert totals["ssn"] == 1
    assert totals["given_dob"] == 1
    assert totals["surname_year_day"] == 1


# --- Training -----------------------------------------------------------------------------------
def _population(world, n: int = 60) -> None:
    """Subjects and workers: a third of the subjects work here under a variant of their identity."""
    emp = world.employer()
    rng = np.random.default_rng(7)
    given = ["Ana", "Radu", "Wei", "Olga", "Kwame", "Sofia", "Ivan", "Lucia", "Omar", "Priya"]
    family = ["Silva", "Petrescu", "Zhang", "Ivanova", "Mensah", "Rossi", "Petrov", "Lopez"]
    for i in range(n):
        born = date(
            1950 + int(rng.integers(40)), 1 + int(rng.integers(12)), 1 + int(rng.integers(28))
        )
        first, last = given[i % len(given)], f"{family[i % len(family)]}{i}"
        ssn = f"5{i:08d}"
        world.subject(f"S-{i}", first, last, born, docs=[("ssn", ssn)])
        if i % 3 == 0:
            world.case(emp, ssn, first, last if i % 2 else last + "x", born)
        world.case(emp, f"6{i:08d}", given[(i + 3) % len(given)], f"Other{i}", born)


def test_train_linkage_stores_an_audited_version_and_prints_the_table(world, matcher, capsys):
    _population(world)
    forget()
    call_command("crossref", "train-linkage", "--user", matcher.username, "--random-pairs", "5000")
    out = capsys.readouterr().out
    row = LinkageModel.objects.get()
    assert row.version == 1
    assert row.trained_by == matcher
    assert row.active
    assert row.digest == Parameters.from_json(row.parameters, "v1").digest
    # Fewer random pairs than the name-pair floor: every one of them had its names judged.
    assert row.training["random_pairs"] == row.training["name_pairs"] == 5000
    assert "field" in out
    assert "swapped_with_surname" in out
    assert f"v1 ({row.digest})" in out
    event = AuditEvent.objects.get(action="crossref.linkage_trained")
    assert event.actor_id == matcher.pk
    assert event.object_id == str(row.pk)
    # A run takes the current model, and every finding names it.
    run = run_rules(matcher, "ENF-LINK")
    assert run.linkage_model_id == row.pk
    got = Finding.objects.filter(rule_code="ENF-LINK")
    assert got.exists()
    assert {f.evidence["model"]["digest"] for f in got} == {row.digest}
    # Training again makes version 2, never an edit of version 1.
    call_command("crossref", "train-linkage", "--user", matcher.username, "--random-pairs", "5000")
    assert list(LinkageModel.objects.values_list("version", flat=True)) == [2, 1]


def test_names_are_judged_on_random_pairs_in_proportion_to_the_data():
    """Small files judge fewer names (training time is mostly names), never under the floor."""
    assert training.name_pairs(1_000) == training.MIN_NAME_PAIRS
    assert training.name_pairs(5_000) == 5_000 * training.NAME_PAIRS_PER_RECORD
    assert training.name_pairs(1_000_000) == training.NAME_PAIRS
    sizes = [training.name_pairs(n) for n in range(0, 20_000, 500)]
    assert sizes == sorted(sizes)


def test_training_is_refused_without_data_or_by_an_analyst(world, matcher, directory):
    from tests.factories import UserFactory

    analyst = UserFactory(username="ana", roles=["analyst"])
    with pytest.raises(CommandError, match="may not train"):
        call_command("crossref", "train-linkage", "--user", analyst.username)
    world.loads["enforcement"].delete()
    with pytest.raises(CommandError, match="enforcement load"):
        call_command("crossref", "train-linkage", "--user", matcher.username)
    assert not LinkageModel.objects.exists()


def test_findings_are_identical_when_a_run_is_repeated_and_a_partition_retried(world, matcher):
    _population(world, n=30)
    forget()

    def snapshot():
        return sorted(
            (f.case_id, f.evidence_key, f.severity, f.score, f.fields, f.summary)
            for f in Finding.objects.filter(rule_code="ENF-LINK")
        )

    run_rules(matcher, "ENF-LINK")
    first = snapshot()
    assert first
    Finding.objects.all().delete()
    forget()  # a fresh worker process: the subject index is built again
    run = run_rules(matcher, "ENF-LINK")
    assert snapshot() == first
    # A retried partition writes nothing new and changes nothing.
    part = Partition.objects.filter(run=run).order_by("-id").first()
    Partition.objects.filter(pk=part.pk).update(status="pending", lease_token="")
    from crossref import engine

    engine.partition_execute(part.pk)
    assert snapshot() == first


def test_probabilities_are_what_the_evidence_adds_up_to(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Radu", "Petrescu", DOB)
    case = world.case(emp, "600000009", "Radu", "Petrescu", DOB)
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")[case.pk]
    total = got.evidence["prior_weight"] + sum(weights_of(got).values())
    assert got.evidence["log_odds"] == pytest.approx(total, abs=0.05)
    assert got.score == pytest.approx(1 / (1 + 2 ** -got.evidence["log_odds"]), abs=1e-3)
    assert got.evidence["model"] == {"version": "default", "digest": DEFAULT.digest}
    assert enforcement.thresholds() == (0.5, 0.3)
    assert crypto.last4("521874390") not in got.summary


def test_a_candidate_model_is_shadow_run_against_the_current_one_then_promoted(
    world, matcher, capsys
):
    from crossref import selectors, services
    from crossref.models import RunMode

    _population(world, n=30)
    forget()
    call_command("crossref", "train-linkage", "--user", matcher.username, "--random-pairs", "3000")
    call_command(
        "crossref",
        "train-linkage",
        "--user",
        matcher.username,
        "--random-pairs",
        "3000",
        "--seed",
        "5",
        "--candidate",
    )
    current, candidate = LinkageModel.objects.get(version=1), LinkageModel.objects.get(version=2)
    assert current.active
    assert not candidate.active
    assert LinkageModel.objects.current() == current  # a candidate is not what runs score with
    run = services.run_start(actor=matcher, rules=["ENF-LINK"], mode=RunMode.SHADOW, enqueue=False)
    assert run.rule_versions == {"ENF-LINK": [2, 3]}
    assert (run.linkage_model, run.linkage_candidate) == (current, candidate)
    services.run_execute_inline(run=run)
    assert not Finding.objects.exists()  # a shadow run writes no findings
    (compared,) = [c for c in selectors.shadow_compare(run=run) if c.rule_code == "ENF-LINK"]
    assert compared.current_hits > 0
    assert compared.candidate_hits > 0
    call_command("crossref", "promote-linkage", "2", "--user", matcher.username)
    assert LinkageModel.objects.current() == candidate
    assert AuditEvent.objects.filter(action="crossref.linkage_promoted").count() == 1
    with pytest.raises(CommandError, match="No linkage model version 9"):
        call_command("crossref", "promote-linkage", "9", "--user", matcher.username)
