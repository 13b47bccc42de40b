"""Verdicts are labels: a changed grade is stored with what the scorer said, the live
agreement (dashboard and gauges) moves, `calibrate --from-store` fits them; appeals go round;
the cohort table and its CSV agree with the stored pairs."""

from __future__ import annotations

import csv
import io
from statistics import mean

from click.testing import CliRunner
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from ingest.tables import pairs
from radagree.cli import main
from review.agreement import AgreementCollector
from review.tables import appeals, verdicts
from support.review_app import RITA, post_form, signed_in


def gauge(registry: CollectorRegistry, name: str, modality: str = "all") -> float | None:
    return registry.get_sample_value(f"radagree_review_{name}", {"modality": modality})


def auto_grade(engine, pair_id: int) -> tuple[int, str]:
    with engine.connect() as conn:
        row = conn.execute(select(pairs.c.grade, pairs.c.discrepancy)
                           .where(pairs.c.id == pair_id)).one()
    return row.grade, row.discrepancy


def test_a_changed_grade_is_a_label_and_moves_the_gauge(app, engine, cohort):
    registry = app.state.registry
    assert gauge(registry, "labels") == 0
    alan = signed_in(app, "alan")
    pair = cohort.rita[0]
    grade, disc = auto_grade(engine, pair)
    # confirm first: a label that agrees
    answer = post_form(alan, f"/pairs/{pair}/verdict", f"/pairs/{pair}", grade=str(grade),
                       discrepancy=disc, reason="", teaching_note="")
    assert answer.status_code == 303
    assert gauge(registry, "labels") == 1 and gauge(registry, "agreement_exact") == 1.0
    # then change it by two grades: exact and within-one agreement both fall to 0
    changed = grade + 2 if grade <= 3 else grade - 2
    missing_reason = post_form(alan, f"/pairs/{pair}/verdict", f"/pairs/{pair}",
                               grade=str(changed), discrepancy=disc, reason="")
    assert missing_reason.status_code == 400  # a change needs its reason
    post_form(alan, f"/pairs/{pair}/verdict", f"/pairs/{pair}", grade=str(changed),
              discrepancy="major", reason="missed pneumothorax", teaching_note="look twice")
    with engine.connect() as conn:
        rows = conn.execute(select(verdicts).order_by(verdicts.c.id)).all()
    assert [r.action for r in rows] == ["confirm", "change"]
    assert rows[-1].grade == changed and rows[-1].auto_grade == grade
    assert rows[-1].modality == "XR" and rows[-1].teaching_note == "look twice"
    assert gauge(registry, "labels") == 1  # still one labelled pair: its newest verdict counts
    assert gauge(registry, "agreement_exact") == 0.0
    assert gauge(registry, "agreement_within_one") == 0.0
    assert gauge(registry, "agreement_exact", "XR") == 0.0
    page = signed_in(app, "dora").get("/cohort")
    assert 'class="exact">0.0%' in page.text
    # a second collector over the same store (another replica) reads the same
    other = CollectorRegistry()
    AgreementCollector(engine, 200, registry=other)
    assert gauge(other, "agreement_exact", "XR") == 0.0


def test_an_appeal_goes_to_the_attending_and_comes_back_answered(app, engine, cohort):
    rita, alan = signed_in(app, "rita"), signed_in(app, "alan")
    pair = cohort.rita[2]
    assert post_form(rita, f"/pairs/{pair}/appeal", f"/pairs/{pair}",
                     comment="The effusion was small on my read.").status_code == 303
    again = post_form(rita, f"/pairs/{pair}/appeal", f"/pairs/{pair}", comment="again")
    assert again.status_code == 400  # one open appeal per pair
    inbox = alan.get("/attending").text
    assert f'href="/pairs/{pair}"' in inbox.split("Appeals waiting for you")[1].split("</ul>")[0]
    assert post_form(signed_in(app, "anne"), "/appeals/1/answer", f"/pairs/{cohort.rob[0]}",
                     answer="not mine").status_code == 403
    with engine.connect() as conn:
        appeal_id = conn.execute(select(appeals.c.id)).scalar_one()
    assert post_form(alan, f"/appeals/{appeal_id}/answer", f"/pairs/{pair}",
                     answer="Agreed; regraded.").status_code == 303
    view = rita.get(f"/pairs/{pair}").text
    assert "Agreed; regraded." in view and "The effusion was small on my read." in view
    assert "Appeals waiting" in alan.get("/attending").text
    assert f'href="/pairs/{pair}"' not in \
        alan.get("/attending").text.split("Appeals waiting for you")[1].split("</section>")[0]


def test_cohort_table_and_csv_match_the_stored_pairs(app, engine, cohort):
    with engine.connect() as conn:
        rita = conn.execute(select(pairs.c.esas, pairs.c.discrepancy)
                            .where(pairs.c.trainee_id == RITA.id)).all()
    dora = signed_in(app, "dora")
    rows = list(csv.DictReader(io.StringIO(dora.get("/cohort.csv").text)))
    by_id = {r["trainee_id"]: r for r in rows}
    assert set(by_id) == {"R100", "R200"}
    assert int(by_id["R100"]["pairs"]) == len(rita)
    assert abs(float(by_id["R100"]["mean_esas"]) - mean(r.esas for r in rita)) < 1e-3
    majors = sum(r.discrepancy == "major" for r in rita) / len(rita)
    assert abs(float(by_id["R100"]["major_rate"]) - majors) < 1e-3
    xr_only = list(csv.DictReader(io.StringIO(dora.get("/pairs.csv?modality=XR").text)))
    assert xr_only and {r["modality"] for r in xr_only} == {"XR"}


def test_csv_cells_never_become_formulas(app, engine, cohort):
    with engine.begin() as conn:
        conn.execute(pairs.update().where(pairs.c.trainee_id == RITA.id)
                     .values(trainee_name="=HYPERLINK(\"http://x\")"))
    text = signed_in(app, "dora").get("/cohort.csv").text
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def test_calibrate_from_store_fits_the_labels_and_writes_the_config(app, engine, cohort,
                                                                     store_url, tmp_path,
                                                                     monkeypatch):
    alan, anne = signed_in(app, "alan"), signed_in(app, "anne")
    # every attending says grade 5 for every pair: thresholds must fall so all score 5
    for client, ids in ((alan, cohort.rita), (anne, cohort.rob)):
        for pair in ids:
            _, disc = auto_grade(engine, pair)
            post_form(client, f"/pairs/{pair}/verdict", f"/pairs/{pair}", grade="5",
                      discrepancy=disc, reason="site standard")
    monkeypatch.setenv("RADAGREE_STORE__URL", store_url)
    out = tmp_path / "grades.toml"
    result = CliRunner().invoke(main, ["calibrate", "--from-store", "--min-per-modality", "2",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    overall = next(line for line in lines if line.startswith("all"))
    assert "labels      5" in overall and "after: exact 100.0%" in overall
    assert any(line.startswith("XR ") for line in lines)  # 3 XR labels: a fit of its own
    assert not any(line.startswith("MR ") for line in lines)  # 1 MR label: too few
    import tomllib

    written = tomllib.loads(out.read_text())
    thresholds = written["scoring"]["grade_thresholds"]
    with engine.connect() as conn:
        lowest = min(conn.execute(select(pairs.c.esas)).scalars())
    assert thresholds == sorted(thresholds) and max(thresholds) <= lowest
    # the per-modality fit is a table the scorer reads, not a comment
    from scoring import ScoringConfig

    by_modality = written["scoring"]["grade_thresholds_by_modality"]
    assert set(by_modality) == {"XR"}
    config = ScoringConfig(**written["scoring"])
    assert config.thresholds_for("XR") == tuple(by_modality["XR"])
    assert config.thresholds_for("MR") == tuple(thresholds)
    # run again on the thresholds just written: each modality's "before" is what it is now
    again = CliRunner().invoke(main, ["calibrate", "--from-store", "--min-per-modality", "2",
                                      "--config", str(out)])
    assert again.exit_code == 0, again.output
    xr_line = next(line for line in again.output.splitlines() if line.startswith("XR "))
    assert "before: exact 100.0%" in xr_line


def test_calibrate_from_an_empty_store_says_why(store_url, engine, monkeypatch):
    monkeypatch.setenv("RADAGREE_STORE__URL", store_url)
    result = CliRunner().invoke(main, ["calibrate", "--from-store"])
    assert result.exit_code == 1 and "no labels yet" in result.output
