"""The CLI as a user runs it: real files, real scorer, the exit codes the README promises."""

import csv
import json
import re
import tomllib

import pytest
from click.testing import CliRunner

from radagree.cli import main


@pytest.fixture()
def runner():
    return CliRunner()


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def write_csv(path, rows):
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return str(path)


def test_score_prints_table_score_and_explanation(runner, tmp_path, scorer):
    prelim, final = ("FINDINGS: Left effusion.\nIMPRESSION: Effusion.",
                     "FINDINGS: Right effusion.\nIMPRESSION: Effusion.")
    p, f = write(tmp_path / "p.txt", prelim), write(tmp_path / "f.txt", final)
    out = runner.invoke(main, ["score", p, f, "--html", str(tmp_path / "v.html")])
    assert out.exit_code == 0, out.output
    expected = scorer.score(prelim, final)  # the default back-ends, as the command uses
    c = expected.counts
    line = next(x for x in out.output.splitlines() if x.startswith("ESAS "))
    figures = re.fullmatch(
        r"ESAS (\S+)\s+grade (\d)\s+discrepancy (\w+)\s+\(matched (\d+), mismatched (\d+), "
        r"missing (\d+), surplus (\d+); \* critical\)", line)
    assert figures is not None, line
    assert figures.groups() == (f"{expected.esas:.3f}", str(expected.grade), expected.discrepancy,
                                str(c.matched), str(c.mismatched), str(c.missing), str(c.surplus))
    assert c.mismatched >= 1 and expected.esas < 1
    # the mismatched entity's row names both sides and the reason
    table = out.output.split("\n\n")[0].splitlines()[1:]
    (row,) = [x for x in table if x.rstrip().endswith("laterality")]
    assert "left" in row.lower() and "right" in row.lower()
    assert out.output.rstrip().endswith(expected.explanation)
    assert (tmp_path / "v.html").read_text().startswith("<!DOCTYPE html>")


def test_score_json(runner, tmp_path):
    p = write(tmp_path / "p.txt", "Mild cardiomegaly.")
    out = runner.invoke(main, ["score", p, p, "--json"])
    assert out.exit_code == 0
    data = json.loads(out.output)
    assert data["esas"] == 1.0 and data["discrepancy"] == "none"


def test_score_missing_file_names_it(runner, tmp_path):
    p = write(tmp_path / "p.txt", "Mild cardiomegaly.")
    out = runner.invoke(main, ["score", p, str(tmp_path / "nope.txt")])
    assert out.exit_code == 2
    assert "nope.txt" in out.output


def test_score_batch_reports_bad_rows_and_exits_1(runner, tmp_path):
    pairs = write_csv(tmp_path / "pairs.csv", [
        ["id", "preliminary", "final"],
        ["a", "No effusion.", "Small left effusion."],
        ["b", "", "Effusion."],
        ["c", "Pneumothorax.", "Pneumothorax."],
    ])
    out_file = tmp_path / "out.jsonl"
    out = runner.invoke(main, ["score-batch", pairs, "--out", str(out_file),
                               "--no-progress"])
    assert out.exit_code == 1
    lines = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["a", "b", "c"]
    assert "error" in lines[1] and "preliminary" in lines[1]["error"]
    assert lines[0]["discrepancy"] != "none" and lines[2]["esas"] == 1.0


def test_score_batch_missing_column_is_exit_2(runner, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("id,prelim,final\n1,a,b\n")
    out = runner.invoke(main, ["score-batch", str(pairs)])
    assert out.exit_code == 2
    assert "preliminary" in out.output


def test_calibrate_prints_both_figures_and_writes_snippet(runner, tmp_path, scorer):
    rows = [
        ["1", "Mild cardiomegaly.", "Mild cardiomegaly.", "5"],
        ["2", "No effusion.", "Large effusion. Pneumothorax.", "1"],
        ["3", "Mild cardiomegaly.", "Mild cardiomegaly. Left effusion.", "3"],
    ]
    labelled = write_csv(tmp_path / "labelled.csv", [["id", "preliminary", "final", "grade"],
                                                     *rows])
    snippet = tmp_path / "grades.toml"
    out = runner.invoke(main, ["calibrate", labelled, "--out", str(snippet)])
    assert out.exit_code == 0, out.output
    scores = [scorer.score(p, f).esas for _, p, f, _ in rows]
    grades = [int(g) for *_, g in rows]

    def figures(name: str) -> tuple[list[float], float, float]:
        line = next(x for x in out.output.splitlines() if x.startswith(f"{name}:"))
        found = re.fullmatch(rf"{name}:\s+thresholds \[(.*)\]\s+exact (\S+)%\s+"
                             r"within \+-1 (\S+)%", line)
        assert found is not None, line
        return ([float(t) for t in found.group(1).split(",")], float(found.group(2)),
                float(found.group(3)))

    def agreement(thresholds: list[float]) -> tuple[float, float]:
        predicted = [1 + sum(s >= t for t in thresholds) for s in scores]
        exact = sum(p == g for p, g in zip(predicted, grades, strict=True)) / len(grades)
        near = sum(abs(p - g) <= 1 for p, g in zip(predicted, grades, strict=True)) / len(grades)
        return round(exact * 100, 1), round(near * 100, 1)

    assert "pairs: 3" in out.output
    before, after = figures("before"), figures("after")
    assert before[0] == list(scorer.config.grade_thresholds)
    assert before[1:] == agreement(before[0])
    assert after[1:] == agreement(after[0]) == (100.0, 100.0)  # three grades, three scores
    assert after[1] >= before[1]
    assert tomllib.loads(snippet.read_text())["scoring"]["grade_thresholds"] == after[0]


def test_calibrate_rejects_bad_grade(runner, tmp_path):
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("id,preliminary,final,grade\n1,a,b,excellent\n")
    out = runner.invoke(main, ["calibrate", str(labelled)])
    assert out.exit_code == 2 and "grade" in out.output
