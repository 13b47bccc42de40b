"""Node test servers installed from their committed lock files (`npm ci`), once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def ensure_node_modules(folder: Path, marker: str) -> None:
    """`npm ci` in `folder` unless `node_modules/<marker>` is already there."""
    if (folder / "node_modules" / marker).is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is not installed: {folder.name} needs Node 20 + npm")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                   check=True, timeout=600)
