"""The `radagree` command line: score, score-batch, calibrate; serve, migrate, replay.

Errors a user can fix are one line on stderr naming the file, row or field, with exit code 2;
a row that cannot be scored is reported and the run goes on (exit 1 at the end).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from radagree.batches import score_batch_or_each

SCORING_OPTIONS = [
    click.option("--ner", type=click.Choice(["lexicon", "scispacy"]), default=None,
                 help="NER back-end (default: lexicon)."),
    click.option("--matcher", type=click.Choice(["exact", "exact+embedding"]), default=None,
                 help="Entity matcher (default: exact)."),
    click.option("--classifier", type=click.Choice(["rules", "llm", "hybrid"]), default=None,
                 help="Context check back-end (default: rules)."),
    click.option("--explainer", type=click.Choice(["template", "llm"]), default=None,
                 help="Explanation back-end (default: template)."),
    click.option("--llm-url", default=None,
                 help="OpenAI-compatible base URL for the LLM back-ends, e.g. "
                      "http://127.0.0.1:8000/v1 (vllm serve)."),
    click.option("--llm-model", default=None, help="Model name as the LLM server knows it."),
    click.option("--llm-style", type=click.Choice(["batched", "paper"]), default=None,
                 help="Prompt style of the LLM context check (default: batched)."),
    click.option("--llm-fallback", type=click.Choice(["rules", "wait"]), default=None,
                 help="When the LLM fails: score with the rules (default) or fail the pair."),
]


def scoring_options(func: Any) -> Any:
    for option in reversed(SCORING_OPTIONS):
        func = option(func)
    return func


def _scorer(**overrides: str | None) -> Any:
    from scoring import Scorer, ScoringConfig
    from scoring.config import LlmSettings
    from scoring.errors import ScoringError

    llm_keys = {"llm_url": "base_url", "llm_model": "model", "llm_style": "prompt_style",
                "llm_fallback": "fallback"}
    llm = {llm_keys[k]: v for k, v in overrides.items() if k in llm_keys and v is not None}
    settings: dict[str, Any] = {k: v for k, v in overrides.items()
                                if v is not None and k not in llm_keys}
    try:
        # The same `[llm]` object the daemon reads from its configuration, from the flags.
        scorer = Scorer(ScoringConfig(**settings), LlmSettings(**llm))
    except ScoringError as exc:
        raise click.ClickException(str(exc)) from exc
    from scoring.llm_client import close_shared

    # The LLM client (one for classifier and explainer) is closed when the command ends.
    click.get_current_context().call_on_close(close_shared)
    return scorer


def _read_text(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.UsageError(f"cannot read {what} report {path}: {exc}") from exc
    if not text.strip():
        raise click.UsageError(f"{what} report {path} is empty")
    return text


@click.group()
@click.version_option(package_name="radagree")
def main() -> None:
    """radagree: graded, explained feedback on preliminary vs final radiology reports."""


@main.command()
@click.argument("prelim", type=click.Path(path_type=Path))
@click.argument("final", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the ScoreResult as JSON.")
@click.option("--html", "html_out", type=click.Path(path_type=Path), default=None,
              help="Write the visualisation to this HTML file.")
@click.option("--procedure", default=None,
              help='The exam (as OBR-4 carries it, e.g. "CT HEAD WO CONTRAST"): modality '
                   "and body region; default: read from the reports.")
@scoring_options
def score(prelim: Path, final: Path, as_json: bool, html_out: Path | None,
          procedure: str | None, **backends: str | None) -> None:
    """Score one PRELIM report against its FINAL report (plain text files)."""
    from scoring import render_html
    from scoring.errors import ScoringError

    prelim_text = _read_text(prelim, "preliminary")
    final_text = _read_text(final, "final")
    try:
        result = _scorer(**backends).score(prelim_text, final_text, procedure)
    except ScoringError as exc:
        raise click.ClickException(str(exc)) from exc
    if html_out is not None:
        from radagree.private import write_private

        write_private(html_out, render_html(result, prelim_text, final_text))  # PHI: 0600
    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    click.echo(format_result(result))


def format_result(result: Any) -> str:
    """The entity table, the score and the explanation as a terminal reads them."""
    from scoring.explain import describe

    lines = [f"{'category':<11} {'entity':<34} {'section':<10} {'preliminary':<34} "
             f"{'final':<34} reason"]
    for r in result.entities:
        prelim = describe(r.prelim_attributes, r.label_of("prelim")) \
            if r.prelim_text is not None else "-"
        final = describe(r.final_attributes, r.label) if r.final_text is not None else "-"
        flag = ("*" if r.critical else "") + ("" if r.counted else " (not counted)")
        lines.append(f"{r.category:<11} {r.label[:33]:<34} {r.section:<10} {prelim[:33]:<34} "
                     f"{final[:33]:<34} {r.reason or ''}{flag}")
    c = result.counts
    exam = result.exam
    lines += [
        "",
        f"ESAS {result.esas:.3f}   grade {result.grade}   discrepancy {result.discrepancy}   "
        f"(matched {c.matched}, mismatched {c.mismatched}, missing {c.missing}, "
        f"surplus {c.surplus}; * critical)",
        f"exam: modality {exam.modality}, body region {exam.region.replace('_', ' ')} "
        f"(from the {exam.source})",
        "",
        result.explanation,
    ]
    return "\n".join(lines)


def _csv_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            missing = [c for c in required if c not in columns]
            if missing:
                raise click.UsageError(
                    f"{path}: missing column(s) {', '.join(missing)}; "
                    f"expected header {','.join(required)}, found {','.join(columns) or 'none'}")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise click.UsageError(f"cannot read {path}: {exc}") from exc


def _chunks(rows: list[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def score_rows(scorer: Any, rows: list[dict[str, str]], progress: bool,
               out: TextIO) -> int:
    """Score each CSV row; returns the number of rows that failed."""
    from tqdm import tqdm

    failed = 0
    with tqdm(total=len(rows), file=sys.stderr, disable=not progress, unit="pair") as bar:
        for chunk in _chunks(rows, 32):
            pairs = [(r.get("preliminary") or "", r.get("final") or "") for r in chunk]
            procedures = [r.get("procedure") or None for r in chunk]
            # One bad row must not sink its chunk: the chunk, else row by row.
            results = score_batch_or_each(scorer, pairs, procedures)
            for row, res in zip(chunk, results, strict=True):
                if isinstance(res, Exception):
                    failed += 1
                    line = {"id": row.get("id"), "error": str(res) or type(res).__name__}
                else:
                    line = {"id": row.get("id"), **res.model_dump(mode="json")}
                out.write(json.dumps(line) + "\n")
            bar.update(len(chunk))
    return failed


@main.command("score-batch")
@click.argument("pairs_csv", type=click.Path(path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="JSON lines output file (default: stdout).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@scoring_options
def score_batch(pairs_csv: Path, out_path: Path | None, progress: bool | None,
                **backends: str | None) -> None:
    """Score every row of PAIRS_CSV (header: id,preliminary,final[,procedure]); one JSON
    line per row."""
    rows = _csv_rows(pairs_csv, ("id", "preliminary", "final"))
    show = sys.stderr.isatty() if progress is None else progress
    scorer = _scorer(**backends)
    if out_path is None:
        failed = score_rows(scorer, rows, show, sys.stdout)
    else:
        from radagree.private import open_private

        with open_private(out_path, "w", encoding="utf-8") as out:  # entity spans: PHI, 0600
            failed = score_rows(scorer, rows, show, out)
    click.echo(f"scored {len(rows) - failed} of {len(rows)} pairs"
               + (f"; {failed} failed" if failed else ""), err=True)
    if failed:
        sys.exit(1)


@main.command()
@click.argument("labelled_csv", type=click.Path(path_type=Path), required=False)
@click.option("--from-store", is_flag=True,
              help="Fit to the attendings' grades in the store (the review app's labels) "
                   "instead of a CSV; by modality where there are enough.")
@click.option("--min-per-modality", type=int, default=50, show_default=True,
              help="With --from-store: labels a modality needs for a fit of its own.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              envvar="RADAGREE_CONFIG", help="With --from-store: the daemon's configuration.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Write the fitted thresholds as a TOML snippet to this file.")
@click.option("--max-grade", type=int, default=5, show_default=True)
@scoring_options
def calibrate(labelled_csv: Path | None, from_store: bool, min_per_modality: int,
              config_path: Path | None, out_path: Path | None, max_grade: int,
              **backends: str | None) -> None:
    """Fit grade thresholds to human grades: LABELLED_CSV (header: id,preliminary,final,grade)
    or, with --from-store, the grades attendings gave in the review app."""
    from scoring.calibration import agreement, fit_thresholds

    if from_store == (labelled_csv is not None):
        raise click.UsageError("give a LABELLED_CSV or --from-store, not both")
    if from_store:
        from radagree.daemon_cli import load_cli_settings
        from radagree.web_cli import calibrate_from_store

        calibrate_from_store(load_cli_settings(config_path), out_path, max_grade,
                             min_per_modality)
        return
    assert labelled_csv is not None
    rows = _csv_rows(labelled_csv, ("id", "preliminary", "final", "grade"))
    grades = []
    for n, row in enumerate(rows, start=2):
        try:
            grades.append(int(row["grade"]))
        except (TypeError, ValueError):
            raise click.UsageError(
                f"{labelled_csv}:{n}: column grade must be an integer, got {row['grade']!r}"
            ) from None
        if not 1 <= grades[-1] <= max_grade:
            raise click.UsageError(
                f"{labelled_csv}:{n}: grade {grades[-1]} outside 1..{max_grade}")
    scorer = _scorer(**backends)
    results = scorer.score_many([(r["preliminary"], r["final"]) for r in rows])
    scores = [r.esas for r in results]
    current = scorer.config.grade_thresholds
    if len(current) != max_grade - 1:
        current = tuple(round(i / max_grade, 4) for i in range(1, max_grade))
    fitted = fit_thresholds(scores, grades, max_grade)
    before, after = agreement(scores, grades, current), agreement(scores, grades, fitted)
    click.echo(f"pairs: {before.n}")
    click.echo(f"before: thresholds {list(current)}  exact {before.exact:.1%}  "
               f"within +-1 {before.within_one:.1%}")
    click.echo(f"after:  thresholds {list(fitted)}  exact {after.exact:.1%}  "
               f"within +-1 {after.within_one:.1%}")
    snippet = f"[scoring]\ngrade_thresholds = {json.dumps(list(fitted))}\n"
    if out_path is not None:
        out_path.write_text(snippet, encoding="utf-8")
        click.echo(f"wrote {out_path}")
    else:
        click.echo(snippet, nl=False)


def _add_daemon_commands() -> None:
    from radagree.daemon_cli import check_config, migrate, replay, serve
    from radagree.outbox_cli import outbox
    from radagree.web_cli import user, web

    for command in (serve, check_config, migrate, replay, outbox, web, user):
        main.add_command(command)


_add_daemon_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
