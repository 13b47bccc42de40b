"""The Grafana dashboard only charts metrics the daemon really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "radagree.json"


def exported_series() -> set[str]:
    """What the daemon registers: each package's metrics and the store collectors (whose
    families `describe` names without a store)."""
    from prometheus_client import CollectorRegistry

    from ingest import IngestMetrics, QueueCollector
    from outbound import OutboundMetrics, OutboxCollector
    from radagree.telemetry import ScoringMetrics

    registry = CollectorRegistry()
    IngestMetrics(registry)
    OutboundMetrics(registry)
    ScoringMetrics(registry)
    families = [*registry.collect(), *QueueCollector(None).describe(),
                *OutboxCollector(None).describe()]
    names: set[str] = set()
    for family in families:
        if family.name.startswith("radagree_"):
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
            for suffix in suffixes.get(family.type, [""]):
                names.add(family.name + suffix)
    return names


def test_every_query_uses_an_exported_metric():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exported = exported_series()
    used = {name for p in panels for t in p["targets"]
            for name in re.findall(r"radagree_[a-z_]+", t["expr"])}
    assert used and used <= exported, sorted(used - exported)
    titles = " ".join(p["title"] for p in panels).lower()
    for topic in ("ack latency", "queue", "scoring latency", "grade", "deliveries",
                  "dead letters"):
        assert topic in titles
