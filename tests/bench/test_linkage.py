"""The linkage benchmark's arithmetic and its way in: FEBRL3 rows through the real loader and API, and P/R/F1.

No timing here (benchmarks print, tests do not time): what is checked is that the benchmark counts
right and feeds the product what an agency and an employer would send.
"""

from __future__ import annotations

import csv
import time
from datetime import date

import pytest

from bench import linkage_engine
from bench.linkage_febrl import case_body, iso_date, ssn_of, subject_row, truth_pairs
from bench.linkage_score import at_threshold, best_threshold, figures
from verification import validation
from verification.models import EnforcementSubject, VerificationCase

ON = date(2026, 3, 2)


def _record(rec_id: str, given: str | None, surname: str | None, born: str | None, ssid: str):
    return {
        "rec_id": rec_id,
        "given_name": given,
        "surname": surname,
        "date_of_birth": born,
        "soc_sec_id": ssid,
    }


# --- FEBRL3 as inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize("ssid", ["0000001", "9990001", "6660001", "1234567", "0010001"])
def test_a_febrl_id_makes_a_valid_ssn_whatever_its_first_three_digits(ssid):
    assert validation.ssn(ssn_of(ssid)) == ssn_of(ssid)


def test_an_id_ending_in_four_zeros_makes_an_ssn_the_api_refuses():
    with pytest.raises(validation.FieldInvalid):
        validation.ssn(ssn_of("1230000"))


def test_a_one_digit_typo_in_the_id_stays_a_one_digit_typo_in_the_ssn():
    a, b = ssn_of("1804974"), ssn_of("1804979")
    assert len(a) == len(b) == 9
    assert sum(x != y for x, y in zip(a, b, strict=True)) == 1


def test_an_id_of_another_shape_is_left_for_the_validator_to_refuse():
    assert ssn_of("18049") == "18049"
    assert ssn_of(None) == ""


def test_dates_are_rewritten_not_judged():
    assert iso_date("19560409") == "1956-04-09"
    assert iso_date("19561309") == "1956-13-09"  # the API refuses it, and the bench counts that
    assert iso_date(None) == ""


def test_a_partial_original_is_a_partial_subject_with_its_ssn_typed():
    row = subject_row(_record("rec-7-org", None, "green", None, "1804974"))
    assert row["subject_ref"] == "rec-7-org"
    assert (row["first_name"], row["last_name"], row["date_of_birth"]) == ("", "green", "")
    assert row["documents"] == "ssn:118104974"


def test_a_case_without_a_given_name_is_unknown_and_one_without_a_dob_sends_none():
    body = case_body(_record("rec-7-dup-0", None, "green", None, "1804974"), on=ON)
    assert body["first_name"] == "Unknown"
    assert "date_of_birth" not in body
    assert body["hire_date"] == body["i9_completed_on"] == "2026-03-02"
    assert body["employer_case_id"] == "rec-7-dup-0"


def test_the_true_links_join_duplicates_to_their_original_only():
    ids = ["rec-1-org", "rec-1-dup-0", "rec-1-dup-1", "rec-2-org", "rec-3-dup-0"]
    assert truth_pairs(ids) == {("rec-1-dup-0", "rec-1-org"), ("rec-1-dup-1", "rec-1-org")}


# --- The arithmetic -------------------------------------------------------------------------------


def test_precision_recall_and_f1_of_a_small_example():
    truth = {1, 2, 3, 4}
    f = figures({1, 2, 9}, truth, all_pairs=8)
    assert (f.links, f.true_links) == (3, 2)
    assert f.precision == pytest.approx(2 / 3)
    assert f.recall == pytest.approx(0.5)
    assert f.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert f.recall_all == pytest.approx(0.25)


def test_no_links_is_zero_not_a_division_by_zero():
    f = figures(set(), {1})
    assert (f.precision, f.recall, f.f1) == (0.0, 0.0, 0.0)


def test_the_best_threshold_is_the_score_with_the_highest_f1():
    # Scores: two true pairs high, a false pair in between, a true pair low, a false pair lowest.
    scores = {"a": 0.99, "b": 0.95, "x": 0.90, "c": 0.80, "y": 0.10}
    truth = {"a", "b", "c"}
    best = best_threshold(scores, truth)
    # >= 0.95: P 1, R 2/3, F1 0.8; >= 0.80: P 3/4, R 1, F1 0.857; >= 0.10: P 3/5, F1 0.75.
    assert best.threshold == 0.80
    assert best.f1 == pytest.approx(6 / 7)
    assert at_threshold(scores, truth, 0.95).f1 == pytest.approx(0.8)


def test_on_equal_f1_the_higher_threshold_wins_and_ties_are_cut_together():
    scores = {"a": 0.9, "b": 0.9, "x": 0.5, "c": 0.5}
    best = best_threshold(scores, {"a", "b"})
    assert (best.threshold, best.links, best.f1) == (0.9, 2, 1.0)
    assert best_threshold({}, {"a"}).threshold is None


# --- Through the product: the loader, the API, the export for Splink ------------------------------


@pytest.mark.django_db
def test_febrl_rows_go_through_the_loader_and_the_api_refusals_counted(adam, tmp_path):
    records = [
        _record("rec-1-org", "mitchell", "green", "19560409", "1804974"),
        _record("rec-1-dup-0", "mitchell", "greene", "19560409", "1804974"),
        _record("rec-2-org", "isabelle", "hathaway", None, "4314184"),  # no DOB: a partial subject
        _record("rec-2-dup-0", "isabelle", "hathaway", None, "4314184"),  # refused: no DOB
        _record("rec-2-dup-1", "isabelle", None, "19921119", "4314184"),  # refused: no surname
        _record("rec-3-org", None, "webb", "19940503", "1232838"),
        _record("rec-3-dup-0", None, "webb", "19940503", "1232838"),  # "Unknown"
        _record("rec-4-dup-0", "toby", "stubs", "19941303", "8317467"),  # refused: no such date
    ]
    got = linkage_engine.load_febrl(records, actor=adam, work=tmp_path)
    assert (got.subjects, got.subjects_loaded) == (3, 3)
    assert (got.cases, got.cases_accepted) == (5, 2)
    assert sum(got.case_refusals.values()) == 3
    assert any(r.startswith("last_name:") for r in got.case_refusals)
    assert sum(n for r, n in got.case_refusals.items() if r.startswith("date_of_birth:")) == 2
    unknown = VerificationCase.objects.get(employer_case_id="rec-3-dup-0")
    assert unknown.first_name == "Unknown"
    greene = VerificationCase.objects.get(employer_case_id="rec-1-dup-0")
    assert got.truth == {(greene.pk, "rec-1-org"), (unknown.pk, "rec-3-org")}
    assert (got.all_pairs, got.pairs_lost_to_refusals) == (4, 2)
    assert EnforcementSubject.objects.get(subject_ref="rec-2-org").date_of_birth is None
    assert linkage_engine.findings() == {}  # nothing is linked until ENF-LINK runs
    assert linkage_engine.leads_on_a_document() is None

    linkage_engine.export_for_splink(tmp_path)
    with (tmp_path / "cases.csv").open() as fh:
        cases = {row["unique_id"]: row for row in csv.DictReader(fh)}
    with (tmp_path / "subjects.csv").open() as fh:
        subjects = {row["subject_ref"]: row for row in csv.DictReader(fh)}
    assert cases[str(greene.pk)]["ssn"] == subjects["rec-1-org"]["ssn"] == ssn_of("1804974")
    assert cases[str(unknown.pk)]["given"] == "unknown"
    assert subjects["rec-2-org"]["dob"] == ""
    assert subjects["rec-3-org"]["given"] == ""


def test_the_configured_thresholds_are_probabilities_when_those_are_set(settings):
    assert linkage_engine.configured_thresholds().lead == settings.CROSSREF.get(
        "LINKAGE_LEAD_PROBABILITY", settings.CROSSREF.get("LINKAGE_THRESHOLD")
    )
    settings.CROSSREF = {
        **settings.CROSSREF,
        "LINKAGE_LEAD_PROBABILITY": 0.9,
        "LINKAGE_REVIEW_PROBABILITY": 0.5,
    }
    got = linkage_engine.configured_thresholds()
    assert (got.lead, got.review) == (0.9, 0.5)
    assert "PROBABILITY" in got.source


def test_calibration_gives_each_band_its_mean_probability_and_true_share():
    from bench.linkage import Measured, _calibration

    m = Measured(name="t")
    m.truth = {(1, "a"), (2, "b"), (3, "c")}
    m.ours = {
        (1, "a"): (0.95, "high"),
        (2, "b"): (0.93, "high"),
        (9, "z"): (0.91, "high"),  # a false lead in the same band
        (3, "c"): (0.4, "low"),
        (8, "y"): (0.1, "low"),  # below every band (a document-only review lead)
    }
    got = _calibration(m)
    assert "[0.9, 0.99) 3 pairs p 0.93 true 0.67" in got
    assert "[0.3, 0.5) 1 pairs p 0.40 true 1.00" in got
    assert "[0.5, 0.7)" not in got  # an empty band is left out


_WARMED: list[int] = []


def test_training_is_timed_cold_in_a_child_each_repeat():
    """What a timed repeat warms stays in its child: the next repeat starts as the first did."""

    def work() -> None:
        _WARMED.append(1)
        time.sleep(0.05)

    assert linkage_engine._cold(work) >= 0.05
    assert linkage_engine._cold(work) >= 0.05
    assert _WARMED == []  # the children's caches never came back to this process

    def fails() -> None:
        raise ValueError("no subjects")

    with pytest.raises(RuntimeError, match="ValueError: no subjects"):
        linkage_engine._cold(fails)
