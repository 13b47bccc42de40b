"""ingest's tables as the review app reads them, through ingest's public surface (its
metadata and the scored state): the review app never writes them."""

from __future__ import annotations

import ingest

pairs = ingest.metadata.tables["pairs"]
reports = ingest.metadata.tables["reports"]
SCORED = ingest.SCORED
