"""The generator's enforcement subjects (issue 17): links with their record's errors, decoys, strangers."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date

import numpy as np
import pytest
from rapidfuzz.distance import OSA

from synthetic import columns as cols
from synthetic import names as nm
from synthetic import rows
from synthetic import subjects as sj
from synthetic.generate import build, labels_for, subject_labels_for, write_files

AS_OF = date(2026, 11, 2)
CASES = 150_000
F = {name: i for i, name in enumerate(cols.CASE_FIELDS)}


@pytest.fixture(scope="module")
def world():
    return build(n_employers=1500, n_cases=CASES, seed=23, as_of=AS_OF)


@pytest.fixture(scope="module")
def labels(world):
    return list(subject_labels_for(world).values())


@pytest.fixture(scope="module")
def subject_rows(world):
    return [rows.enforcement_row(world, k) for k in range(len(world.s["kind"]))]


def _of(labels, kind):
    return [row for row in labels if row["kind"] == kind]


def _digits_apart(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a.replace("-", ""), b.replace("-", ""), strict=True))


def test_one_subject_per_twenty_cases_a_tenth_of_them_decoys(world, labels):
    kinds = Counter(row["kind"] for row in labels)
    assert sum(kinds.values()) == CASES // 20
    assert kinds["decoy"] == round(sj.DECOY_SHARE * CASES // 20)
    hits = {c for c, (label, _d) in labels_for(world).items() if label == "fraud:enforcement_hit"}
    assert {row["employer_case_id"] for row in _of(labels, "link")} == hits
    assert kinds["link"] == len(hits)


def test_the_links_errors_come_out_at_their_stated_rates(labels):
    links = _of(labels, "link")
    primary = Counter(row["variant"].split("+")[0] for row in links)
    for kind, share in sj.LINK_SHARES.items():
        assert abs(primary[kind] - share * len(links)) <= 1, kind
    exact = 1 - sum(sj.LINK_SHARES.values())
    assert abs(primary[""] - exact * len(links)) <= len(sj.LINK_SHARES)
    with_error = sum(n for kind, n in primary.items() if kind in (*sj.NAME_KINDS, *sj.DOB_KINDS))
    seconds = sum("+" in row["variant"] for row in links)
    assert abs(seconds - sj.SECOND_SHARE * with_error) <= 0.03 * with_error
    documents = Counter(row["documents"] for row in links)
    for kind, share in sj.LINK_DOCUMENTS.items():
        # The SSN also goes to the links that need a document and drew none.
        slack = 0.06 * len(links) if kind == "ssn" else 1
        assert share * len(links) - 1 <= documents[kind] <= share * len(links) + slack, kind


def test_strangers_miss_fields_as_often_as_links(labels):
    strangers = _of(labels, "stranger")
    kinds = Counter(row["variant"] for row in strangers)
    for kind, share in sj.STRANGER_SHARES.items():
        assert abs(kinds[kind] - share * len(strangers)) <= 1, kind
        assert share == sj.LINK_SHARES[kind]


def test_each_decoy_kind_at_its_rate(labels):
    decoys = _of(labels, "decoy")
    kinds = Counter(row["variant"] for row in decoys)
    for kind, share in sj.DECOY_SHARES.items():
        # Initials with no other name to take become the same given name instead (a handful).
        slack = 0.01 * len(decoys) if kind in ("decoy_dob_initials", "decoy_given_dob") else 1
        assert abs(kinds[kind] - share * len(decoys)) <= slack + 1, kind


def test_every_link_is_its_worker_with_the_stated_errors(world, labels, subject_rows):
    wrong = []
    for k, (label, row) in enumerate(zip(labels, subject_rows, strict=True)):
        if label["kind"] != "link":
            continue
        case = cols.case_values(world, int(label["employer_case_id"][-8:]))
        first, last, dob = case[F["first_name"]], case[F["last_name"]], case[F["date_of_birth"]]
        kinds = label["variant"].split("+") if label["variant"] else []
        name_kinds = [k for k in kinds if k in sj.NAME_KINDS]
        dob_kinds = [k for k in kinds if k in sj.DOB_KINDS]
        ok = True
        # Names: as the case has them, or differing as the one name error says.
        if kinds[:1] == ["alias_only"]:
            ok &= row["first_name"] == row["last_name"] == ""
            parts = cols.person_names(world, world.sl["person"][k])[2]  # a particle stays whole
            ok &= row["aliases"] == nm.strip_accents(f"{first} {parts[0]}")
        elif kinds[:1] == ["surname_document"]:
            ok &= row["first_name"] == "" and row["last_name"] == last
        elif kinds[:1] == ["document_only"]:
            ok &= row["first_name"] != first and row["last_name"] != last
        elif not name_kinds:
            ok &= (row["first_name"], row["last_name"]) == (first, last)
        else:
            got_first, got_last = row["first_name"], row["last_name"]
            ok &= {
                "typo_given": got_last == last and OSA.distance(got_first, first) == 1,
                "typo_surname": got_first == first and OSA.distance(got_last, last) == 1,
                "given_replaced": got_last == last and got_first != first,
                "given_shortened": got_last == last
                and (got_first == first[0] or got_first in nm.NICKNAMES.get(first, ())),
                "surname_shortened": got_first == first
                and got_last != last
                and (got_last in last.split() or last.startswith(got_last)),
                "given_family_swapped": (got_first, got_last) == (last, first),
            }[name_kinds[0]]
        # Date of birth: the case's, or wrong as the date error says.
        got = row["date_of_birth"] or ""
        if kinds[:1] in (["dob_missing"], ["surname_document"]):
            ok &= got == ""
        elif kinds[:1] == ["document_only"]:
            ok &= abs(int(got[:4]) - int(dob[:4])) >= 2 and got[8:] != dob[8:]
        elif not dob_kinds:
            ok &= got == dob
        else:
            swapped = f"{dob[:4]}-{dob[8:]}-{dob[5:7]}"
            ok &= {
                "dob_one_digit": _digits_apart(got, dob) == 1,
                "dob_year_1": abs(int(got[:4]) - int(dob[:4])) == 1 and got[5:7] == dob[5:7],
                "dob_year_10": abs(int(got[:4]) - int(dob[:4])) == 10 and got[5:7] == dob[5:7],
                "dob_component": got[:4] == dob[:4]
                and (got[5:7] == dob[5:7]) != (got[8:] == dob[8:]),
                "dob_day_month_swap": got == swapped != dob,
                "dob_year_only": got == f"{dob[:4]}-01-01" != dob,
            }[dob_kinds[0]]
        # Documents: the case's own, or its SSN one digit off.
        document = row["documents"].partition(":")[2] or row["documents"]
        ok &= {
            "": row["documents"] == "",
            "ssn": row["documents"] == f"ssn:{case[F['ssn']]}",
            "ssn_typo": row["documents"].startswith("ssn:")
            and _digits_apart(document, case[F["ssn"]]) == 1,
            "a_number": row["documents"] == f"a_number:{case[F['a_number']]}",
            "passport": row["documents"] == f"passport:{case[F['passport']]}",
            "i94": row["documents"] == f"i94:{case[F['i94']]}",
            "document_number": row["documents"] == case[F["document_number"]] != "",
        }[label["documents"]]
        if not ok:
            wrong.append((label, row, (first, last, dob, case[F["ssn"]])))
    assert wrong == []


def test_every_link_stays_identifiable(labels, subject_rows):
    # A link with no date of birth, or only a surname, or another identity, carries one of the
    # worker's own documents; an alias-only link keeps its date of birth.
    for label, row in zip(labels, subject_rows, strict=True):
        if label["kind"] != "link":
            continue
        if not row["date_of_birth"] or label["variant"] in sj.DOC_NEEDED:
            assert label["documents"] not in ("", "ssn_typo"), label
        if label["variant"] == "alias_only":
            assert row["date_of_birth"]
            assert row["aliases"]


def test_decoys_look_like_their_worker_and_are_no_one(world, labels, subject_rows):
    workers = {}
    for c in range(world.n_cases):
        v = cols.case_values(world, c)
        for part in v[F["last_name"]].split():
            workers.setdefault((v[F["first_name"]], part), set()).add(v[F["date_of_birth"]])
    for label, row in zip(labels, subject_rows, strict=True):
        if label["kind"] != "decoy":
            continue
        target = cols.case_values(world, int(label["look_alike_of"][-8:]))
        first, last, dob = (
            target[F["first_name"]],
            target[F["last_name"]],
            target[F["date_of_birth"]],
        )
        got, kind = row["date_of_birth"], label["variant"]
        assert {
            "decoy_surname_year": row["last_name"] == last.split()[0]
            and row["first_name"] != first
            and got[:4] == dob[:4]
            and got[5:7] != dob[5:7]
            and got[8:] != dob[8:],
            "decoy_given_dob": row["first_name"] == first
            and row["last_name"] not in last.split()
            and got == dob,
            "decoy_name": (row["first_name"], row["last_name"]) == (first, last)
            and abs(int(got[:4]) - int(dob[:4])) not in (0, 1, 10)
            and got[8:] != dob[8:],
            "decoy_dob_initials": row["first_name"][0] == first[0]
            and row["last_name"][0] == last[0]
            and row["first_name"] != first
            and row["last_name"] not in last.split()
            and got == dob,
            "decoy_ssn_near": label["documents"] == "ssn"
            and _digits_apart(row["documents"][4:], target[F["ssn"]]) == 1,
        }[kind], (label, row, target[:5])
        # No worker has the decoy's given name, a surname part and date (either order).
        swapped = f"{got[:4]}-{got[8:]}-{got[5:7]}"
        for part in row["last_name"].split()[:1]:
            assert not workers.get((row["first_name"], part), set()) & {got, swapped}, (label, row)
    # A decoy is never a link.
    assert not [
        k for k, kind in enumerate(world.s["kind"]) if kind == sj.DECOY and world.s["case"][k] >= 0
    ]


def test_enforcement_labels_file_names_every_subject(world, tmp_path):
    paths = write_files(world, tmp_path)
    with paths["enforcement_labels.csv"].open() as fh:
        got = list(csv.DictReader(fh))
    assert list(got[0]) == rows.SUBJECT_LABEL_COLUMNS
    with paths["enforcement.csv"].open() as fh:
        refs = [row["subject_ref"] for row in csv.DictReader(fh)]
    assert [row["subject_ref"] for row in got] == refs


@pytest.mark.django_db
def test_the_enforcement_file_loads_every_partial_subject(tmp_path):
    from verification.loading import load_reference
    from verification.models import EnforcementSubject

    small = build(n_employers=300, n_cases=30_000, seed=29, as_of=AS_OF)
    paths = write_files(small, tmp_path)
    report = load_reference(source="enforcement", path=paths["enforcement.csv"])
    assert report.error_count == 0, report.errors[:5]
    loaded = EnforcementSubject.objects.current()
    assert loaded.count() == 1500
    assert loaded.filter(date_of_birth__isnull=True).count() > 50
    assert loaded.filter(first_name="", last_name="").count() > 30


def test_the_same_seed_gives_the_same_subjects(world):
    again = build(n_employers=1500, n_cases=CASES, seed=23, as_of=AS_OF)
    for name, values in world.s.items():
        assert np.array_equal(values, again.s[name]), name
    sample = range(0, len(world.s["kind"]), 13)
    assert [rows.enforcement_row(world, k) for k in sample] == [
        rows.enforcement_row(again, k) for k in sample
    ]
    other = build(n_employers=1500, n_cases=CASES, seed=24, as_of=AS_OF)
    assert not np.array_equal(world.s["variant"], other.s["variant"])
