"""The CLI as a user runs it: real files, real scorer, the exit codes the README promises."""

import csv
import json

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


def test_score_prints_table_score_and_explanation(runner, tmp_path):
    p = write(tmp_path / "p.txt", "FINDINGS: Left effusion.\nIMPRESSION: Effusion.")
    f = write(tmp_path / "f.txt", "FINDINGS: Right effusion.\nIMPRESSION: Effusion.")
    out = runner.invoke(main, ["score", p, f, "--html", str(tmp_path / "v.html")])
    assert out.exit_code == 0, out.output
    assert "ESAS" in out.output and "laterality" in out.output
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


def test_calibrate_prints_both_figures_and_writes_snippet(runner, tmp_path):
    labelled = write_csv(tmp_path / "labelled.csv", [
        ["id", "preliminary", "final", "grade"],
        ["1", "Mild cardiomegaly.", "Mild cardiomegaly.", "5"],
        ["2", "No effusion.", "Large effusion. Pneumothorax.", "1"],
        ["3", "Mild cardiomegaly.", "Mild cardiomegaly. Left effusion.", "3"],
    ])
    snippet = tmp_path / "grades.toml"
    out = runner.invoke(main, ["calibrate", labelled, "--out", str(snippet)])
    assert out.exit_code == 0, out.output
    assert "before:" in out.output and "after:" in out.output and "within +-1" in out.output
    assert "grade_thresholds" in snippet.read_text()


def test_calibrate_rejects_bad_grade(runner, tmp_path):
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("id,preliminary,final,grade\n1,a,b,excellent\n")
    out = runner.invoke(main, ["calibrate", str(labelled)])
    assert out.exit_code == 2 and "grade" in out.output
