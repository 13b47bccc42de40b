"""The shell scripts people run by hand parse (bash -n), and say what they need."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("script", ["bench/gpu_check.sh", ".ci/run", ".ci/postgres.sh"])
def test_script_parses(script):
    result = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_gpu_check_refuses_to_run_without_a_model():
    result = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh")], capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode != 0 and "set MODEL" in result.stderr
