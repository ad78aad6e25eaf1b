"""The benchmark report: goals judged, results written, the README section regenerated, two results compared."""

from __future__ import annotations

import json

import pytest

from bench import report


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "REPORT", report.Report())
    monkeypatch.setattr(report, "RESULTS", tmp_path / "results")
    readme = tmp_path / "README.md"
    readme.write_text(f"# X\n\nbefore\n\n{report.START}\nold text\n{report.END}\n\nafter\n")
    monkeypatch.setattr(report, "README", readme)
    return tmp_path


def test_a_goal_is_met_only_on_its_side_of_the_bound(fresh):
    assert report.goal("crossref", "ratio", 3.9, "<=", 4, unit="x").endswith(" MET")
    assert report.goal("crossref", "ratio2", 4.1, "<=", 4, unit="x").endswith("NOT MET")
    assert report.goal("linkage", "recall", 99.4, ">=", 99.5, unit="%").endswith("NOT MET")
    assert report.goal("linkage", "nothing", float("nan"), ">=", 1).endswith("NOT MET")
    with pytest.raises(ValueError):
        report.goal("x", "y", 1, "<", 2)
    assert [g.met for g in report.REPORT.goals] == [True, False, False, False]


def test_write_saves_json_and_markdown_and_regenerates_the_readme(fresh):
    report.goal("crossref", "P1 ratio", 8.3, "<=", 4, unit="x")
    report.goal("audit", "overhead", 4.0, "<=", 10, unit="%")
    report.goal("data", "P3 ratio", 0.27, ">=", 0.5, detail="257 submits/s vs 946/s")
    report.note("queue bench: 3 errors")
    path = report.write(["bench", "--area", "crossref"])
    data = json.loads(path.read_text())
    assert [(g["name"], g["met"]) for g in data["goals"]] == [
        ("P1 ratio", False),
        ("overhead", True),
        ("P3 ratio", False),
    ]
    assert data["machine"]["cores"] >= 1
    assert "version" in data["machine"]["postgresql"]  # the real server answered
    md = path.with_suffix(".md").read_text()
    assert "| crossref | P1 ratio | 8.3x | <= 4x | **no** |" in md
    assert "| data | P3 ratio | 0.27 (257 submits/s vs 946/s) | >= 0.5 | **no** |" in md
    assert "**Warning:** queue bench: 3 errors" in md
    text = report.README.read_text()
    assert "old text" not in text
    assert "| audit | overhead | 4%" in text
    assert text.startswith("# X\n\nbefore")
    assert text.rstrip().endswith("after")


def test_the_readme_takes_each_areas_newest_result(fresh):
    report.RESULTS.mkdir()
    for stem, area, figure in (
        ("2026-01-01T000000-a", "crossref", 9.0),
        ("2026-01-02T000000-b", "audit", 5.0),
        ("2026-01-03T000000-c", "crossref", 3.5),
    ):
        goals = [{"area": area, "name": "g", "figure": figure, "op": "<=", "bound": 4}]
        data = {
            "when": stem,
            "commit": stem[-1],
            "dirty": False,
            "command": "bench",
            "machine": {},
            "goals": [{**g, "unit": "x", "detail": "", "met": figure <= 4} for g in goals],
        }
        (report.RESULTS / f"{stem}.json").write_text(json.dumps(data))
    assert report.readme()
    text = report.README.read_text()
    assert "| crossref | g | 3.5x | <= 4x | yes |" in text
    assert "| crossref | g | 9" not in text
    assert "| audit | g | 5x | <= 4x | **no** |" in text


def test_compare_shows_the_change_of_each_goal(fresh, capsys):
    report.RESULTS.mkdir()
    paths = []
    for name, figure in (("a", 8.0), ("b", 4.0)):
        p = report.RESULTS / f"{name}.json"
        p.write_text(
            json.dumps(
                {
                    "commit": name,
                    "goals": [
                        {"area": "crossref", "name": "P1", "figure": figure, "met": figure <= 4}
                    ],
                }
            )
        )
        paths.append(p)
    assert report.main(["compare", str(paths[0]), str(paths[1])]) == 0
    out = capsys.readouterr().out
    assert "-50.0%" in out
    assert "no->yes" in out
    assert report.main(["compare", str(paths[0]), str(report.RESULTS / "missing.json")]) == 2
