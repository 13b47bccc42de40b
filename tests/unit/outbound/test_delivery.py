"""Delivery without a network: retry delays, secrets kept out of what is printed, and the
folder sink's file names (pure functions and a temporary folder)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

from outbound import FhirConfig, FolderSink, OutboxItem, backoff
from outbound.sinks import retry_after
from support.fhir import outbox_item


def test_secrets_are_masked_when_printed():
    config = FhirConfig(base_url="https://x", token="abc123", client_secret="zzz999")
    assert "abc123" not in repr(config) and "zzz999" not in str(config.model_dump())


def test_backoff_grows_is_capped_and_jittered():
    config = FhirConfig(backoff_base_s=1, backoff_max_s=60)
    rng = random.Random(1)
    samples = {n: [backoff(n, config, rng) for _ in range(200)] for n in (1, 3, 10)}
    assert max(samples[1]) <= 1 and max(samples[3]) <= 4 and max(samples[10]) <= 60
    assert max(samples[10]) > 30 and len(set(samples[3])) > 100  # spread, not one value
    assert retry_after("120") == 120
    assert 0 <= retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0


def test_folder_file_names_sort_by_time_and_are_stable(tmp_path):
    sink = FolderSink(tmp_path)
    a = outbox_item(2)
    b = OutboxItem(1, 1, "ACC/1|x", 2, "cancel", "folder", {"resourceType": "Bundle"}, 1,
                   datetime(2030, 1, 1, tzinfo=UTC))
    names = [sink.file_name(a), sink.file_name(b)]
    assert names == sorted(names) and sink.file_name(a) == names[0]
    assert "/" not in names[1] and "|" not in names[1]
    asyncio.run(sink.send(b))
    asyncio.run(sink.send(b))  # a retry rewrites the same file
    assert [p.name for p in Path(tmp_path).iterdir()] == [names[1]]
