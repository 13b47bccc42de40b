"""`radagree outbox list | show | retry`: what an operator uses on a dead letter."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import select

from ingest import Incoming, MllpConfig, peek, process_pending, store_messages
from outbound import enqueue
from outbound.tables import outbox
from radagree.cli import main
from radagree.store import make_engine, migrate
from support.hl7build import oru


def test_list_show_retry(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RADAGREE_STORE__URL", url)
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        store_messages(conn, [Incoming(m, *peek(m, MllpConfig()), received_at=datetime.now(UTC))
                              for m in (oru("O1", "P", "a"), oru("O1", "F", "b"))])
    process_pending(engine, MllpConfig())
    with engine.begin() as conn:
        pair_id = conn.execute(select(1)).scalar()
        state = enqueue(conn, pair_id=pair_id, accession="O1", version=1, kind="score",
                        sink="folder", bundle={"resourceType": "Bundle", "type": "nonsense"})
    assert state == "dead"
    runner = CliRunner()
    listed = runner.invoke(main, ["outbox", "list", "--state", "dead"])
    assert listed.exit_code == 0 and "O1" in listed.output and "invalid bundle" in listed.output
    shown = runner.invoke(main, ["outbox", "show", "1"])
    assert shown.exit_code == 0 and '"state": "dead"' in shown.output
    assert runner.invoke(main, ["outbox", "show", "99"]).exit_code == 1
    assert runner.invoke(main, ["outbox", "retry"]).exit_code == 2
    retried = runner.invoke(main, ["outbox", "retry", "--all-dead"])
    assert retried.exit_code == 0 and "re-queued 1 bundle(s)" in retried.output
    with engine.connect() as conn:
        assert conn.execute(select(outbox.c.state)).scalar() == "pending"
