"""The review app under a realistic store: 100,000 scored pairs, 200 trainees, 40 attendings,
5% of the pairs graded by an attending, over two years; on SQLite and on PostgreSQL.

A real `radagree web` process serves the store; this script signs in (a trainee, an
attending, the program director) and times, over loopback HTTP:
  - a trainee's list (their newest 50 pairs; and filtered by modality)   target p95 <= 200 ms
  - the cohort table (every trainee: pairs, mean ESAS, major rate, label agreement)
                                                                          target p95 <= 500 ms
  - the side-by-side view (the pair's page + its visualisation frame)    target p95 <= 150 ms
  - one trainee's page as the director opens it from the cohort          target p95 <= 200 ms
  - that trainee's printable report (the last six months)                target p95 <= 1 s

Every figure is also printed as a ratio to two same-run references: a fixed pure-Python loop
(CPU speed) and fsync'd SQLite commits/s on this disk (bench/_reference.py), so runs on a
busier machine compare.

    python bench/review_load.py                       # SQLite in a temp folder
    python bench/review_load.py --store-url postgresql://user@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx
from sqlalchemy import create_engine, insert, make_url, text

import scoring
from _reference import in_commits, sqlite_commits_per_s
from ingest.queue import headline
from ingest.tables import messages, pairs, reports
from radagree.store import make_engine, migrate
from review import add_user
from review.tables import verdicts

PASSWORD = "bench password 0123"
# Every known modality and region the scorer can record (not "unknown").
MODALITIES = [m for m in scoring.MODALITIES if m != "unknown"]
REGIONS = [r for r in scoring.REGIONS if r != "unknown"]
FINDINGS = [
    "The heart is mildly enlarged.", "There is a small left pleural effusion.",
    "No pneumothorax.", "Patchy opacity in the right lower lobe.",
    "Degenerative changes of the thoracic spine.", "Nodule measuring 9 mm in the left upper lobe.",
    "Large right pleural effusion.", "Endotracheal tube 4 cm above the carina.",
    "No focal consolidation.", "Mild pulmonary edema.", "Left basilar atelectasis.",
    "Small right pneumothorax.",
]
TARGETS_MS = {"trainee_list": 200, "trainee_list_filtered": 200, "cohort": 500,
              "side_by_side": 150, "trainee_page": 200, "trainee_report": 1000}


def python_loop_s() -> float:
    """A fixed pure-Python workload: the CPU yardstick (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - started)
    return best


def report_pairs(scorer: object, n: int, rng: random.Random) -> list[tuple[str, str, dict]]:
    out = []
    for _ in range(n):
        final_findings = rng.sample(FINDINGS, 5)
        prelim_findings = final_findings[:]
        if rng.random() < 0.6:
            prelim_findings.pop(rng.randrange(len(prelim_findings)))
        if rng.random() < 0.3:
            prelim_findings.append(rng.choice(FINDINGS))
        final = ("EXAMINATION: Chest, PA and lateral.\nINDICATION: Shortness of breath.\n\n"
                 "FINDINGS: " + " ".join(final_findings) + "\n\nIMPRESSION: "
                 + " ".join(final_findings[:2]))
        prelim = ("EXAMINATION: Chest, PA and lateral.\nINDICATION: Shortness of breath.\n\n"
                  "FINDINGS: " + " ".join(prelim_findings) + "\n\nIMPRESSION: "
                  + " ".join(prelim_findings[:2]))
        result = scorer.score(prelim, final).model_dump(mode="json")  # type: ignore[attr-defined]
        out.append((prelim, final, result))
    return out


def seed(engine, n_pairs: int, n_trainees: int, n_attendings: int, label_share: float,
         rng: random.Random) -> None:
    from scoring import Scorer, ScoringConfig

    templates = report_pairs(Scorer(ScoringConfig(matcher="exact")), 24, rng)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        message_id = conn.execute(insert(messages).values(
            sender="bench", control_id="BENCH", message_type="ORU^R01", peer="bench",
            received_at=now, raw=b"", size=0, sha256="0" * 64, ack_code="AA",
            state="parsed", duplicates=0)).inserted_primary_key[0]
    chunk = 5000
    for start in range(0, n_pairs, chunk):
        report_rows, pair_rows, verdict_rows = [], [], []
        for i in range(start, min(start + chunk, n_pairs)):
            prelim, final, result = templates[i % len(templates)]
            result = {**result, "exam": {"modality": rng.choice(MODALITIES),
                                         "region": rng.choice(REGIONS)}}
            created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            accession = f"B{i:08d}"
            base = {"message_id": message_id, "accession": accession,
                    "patient_id": f"MRN{i:08d}", "procedure": "71046^XR CHEST 2 VIEWS^CPT",
                    "attending": "", "resident": "", "observed_at": "",
                    "status_changed_at": "", "has_embedded_document": False,
                    "received_at": created, "pairing": "paired"}
            report_rows.append({"id": 2 * i + 1, "obr_index": 2 * i + 1, "status": "P",
                                "text": prelim, **base})
            report_rows.append({"id": 2 * i + 2, "obr_index": 2 * i + 2, "status": "F",
                                "text": final, **base})
            trainee = rng.randrange(n_trainees)
            attending = rng.randrange(n_attendings)
            pair_rows.append({
                "id": i + 1, "accession": accession, "version": 1,
                "prelim_report_id": 2 * i + 1, "final_report_id": 2 * i + 2,
                "final_status": "F", "state": "scored", "attempts": 1, "created_at": created,
                "updated_at": created, "study_at": created - timedelta(hours=rng.randrange(72)),
                "result": result,
                "trainee_id": f"T{trainee:04d}", "trainee_name": f"Trainee {trainee}",
                "trainee_authority": "HOSP", "attending_id": f"A{attending:03d}",
                "attending_name": f"Attending {attending}", "attending_authority": "HOSP",
                **headline(result)})
            if rng.random() < label_share:
                grade = max(1, min(5, result["grade"] + rng.choice([-1, 0, 0, 0, 1])))
                verdict_rows.append({
                    "pair_id": i + 1, "user_id": 1, "action": "confirm"
                    if grade == result["grade"] else "change", "auto_grade": result["grade"],
                    "auto_discrepancy": result["discrepancy"], "grade": grade,
                    "discrepancy": result["discrepancy"], "esas": result["esas"],
                    "modality": result["exam"]["modality"], "reason": "", "teaching_note": "",
                    "created_at": created})
        with engine.begin() as conn:
            conn.execute(insert(reports), report_rows)
            conn.execute(insert(pairs), pair_rows)
            if verdict_rows:
                conn.execute(insert(verdicts), verdict_rows)
        print(f"  seeded {min(start + chunk, n_pairs):,} pairs", file=sys.stderr, flush=True)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("messages", "reports", "pairs"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(store_url: str, folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "RADAGREE_STORE__URL": store_url, "RADAGREE_WEB__PORT": str(port),
           "RADAGREE_WEB__SECRET_KEY": "bench-secret-key-0123456789",
           "RADAGREE_WEB__LOGIN_MAX_FAILURES": "1000", "RADAGREE_LOGGING__LEVEL": "WARNING",
           # httpx (like Python's cookie jar) sends no Secure cookie over http://127.0.0.1,
           # which browsers do: plain cookies for this loopback bench only.
           "RADAGREE_WEB__SECURE_COOKIES": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "radagree.cli", "web"], env=env, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/healthz", timeout=1).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("radagree web did not start")


def sign_in(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": token})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in of {username} failed: {answer.status_code}")
    return client


def timed(fn, n: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def get_ok(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code}")


def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(13)
    folder = Path(tempfile.mkdtemp(prefix="review-bench-"))
    admin_url, store_url = args.store_url, args.store_url
    if store_url is None:
        store_url = f"sqlite:///{folder / 'radagree.db'}"
    elif make_url(store_url).drivername.startswith("postgresql"):
        name = f"review_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        store_url = make_url(admin_url).set(database=name).render_as_string(False)
    engine = make_engine(store_url)
    migrate(engine)
    started = time.perf_counter()
    add_user(engine, "attending0", "attending", PASSWORD, practitioner_id="A000")
    seed(engine, args.pairs, args.trainees, 40, 0.05, rng)
    trainees = [f"trainee{t}" for t in range(0, args.trainees, max(1, args.trainees // 20))]
    for t in trainees:
        add_user(engine, t, "trainee", PASSWORD, practitioner_id=f"T{int(t[7:]):04d}")
    add_user(engine, "director", "director", PASSWORD)
    seed_s = time.perf_counter() - started
    proc, url = serve(store_url, folder)
    try:
        clients = {t: sign_in(url, t) for t in trainees}
        director = sign_in(url, "director")
        own: dict[str, list[int]] = {}
        for t, client in clients.items():
            own[t] = [p["id"] for p in client.get("/api/pairs").json()["pairs"]]
        order = list(clients)

        def trainee_list() -> None:
            get_ok(clients[rng.choice(order)], "/trainee")

        def trainee_filtered() -> None:
            get_ok(clients[rng.choice(order)], f"/trainee?modality={rng.choice(MODALITIES)}")

        def cohort() -> None:
            get_ok(director, "/cohort")

        def side_by_side() -> None:
            t = rng.choice(order)
            pair = rng.choice(own[t])
            get_ok(clients[t], f"/pairs/{pair}")
            get_ok(clients[t], f"/pairs/{pair}/view")

        def trainee_page() -> None:
            get_ok(director, f"/cohort/trainees/T{rng.randrange(args.trainees):04d}")

        def trainee_report() -> None:
            get_ok(director, f"/cohort/trainees/T{rng.randrange(args.trainees):04d}/report")

        figures = {"trainee_list": timed(trainee_list, args.requests),
                   "trainee_list_filtered": timed(trainee_filtered, args.requests),
                   "cohort": timed(cohort, max(20, args.requests // 4)),
                   "side_by_side": timed(side_by_side, args.requests),
                   "trainee_page": timed(trainee_page, args.requests),
                   "trainee_report": timed(trainee_report, max(20, args.requests // 4))}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        engine.dispose()
    out: dict[str, object] = {"store": engine.dialect.name, "pairs": args.pairs,
                              "trainees": args.trainees, "seed_s": round(seed_s, 1)}
    for name, values in figures.items():
        out[f"{name}_p50_ms"] = round(1000 * statistics.median(values), 1)
        out[f"{name}_p95_ms"] = round(1000 * p95(values), 1)
        out[f"{name}_target_ms"] = TARGETS_MS[name]
        out[f"{name}_ok"] = 1000 * p95(values) <= TARGETS_MS[name]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--trainees", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--store-url", default=None,
                        help="PostgreSQL server URL (a database is created on it); "
                             "default: SQLite in a temp folder")
    args = parser.parse_args()
    loop_s = python_loop_s()
    commits = sqlite_commits_per_s()
    print(f"reference: python loop {1000 * loop_s:.0f} ms, {commits:,.0f} fsync'd SQLite "
          f"commits/s (one commit = {1000 / commits:.2f} ms)", flush=True)
    result = run(args)
    for key in [k for k in result if k.endswith("_p95_ms")]:
        seconds = float(result[key]) / 1000  # type: ignore[arg-type]
        result[key.replace("_ms", "_in_loops")] = round(seconds / loop_s, 3)
        result[key.replace("_ms", "_in_commits")] = round(in_commits(seconds, commits), 1)
    print(json.dumps(result), flush=True)
    print(f"reference after: python loop {1000 * python_loop_s():.0f} ms, "
          f"{sqlite_commits_per_s():,.0f} fsync'd SQLite commits/s", flush=True)


if __name__ == "__main__":
    main()
