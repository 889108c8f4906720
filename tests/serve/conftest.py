"""Starts `kvscope serve` on a free loopback port for the server tests.

KVSCOPE_BIN names the binary (scripts/test.sh sets it; default: the release build), and the
default model must be fetched (scripts/fetch_model.sh).
"""
import os
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("KVSCOPE_BIN", str(ROOT / "build/release/tools/kvscope/kvscope"))
MODEL = ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"


class Server:
    def __init__(self, *args):
        if not MODEL.exists():
            pytest.skip("the default model is missing (scripts/fetch_model.sh)")
        self.proc = subprocess.Popen([BIN, "serve", "--port", "0", *args],
                                     stderr=subprocess.PIPE, text=True)
        self.log = []
        line = self._line()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"no address in {line!r}"
        self.url = match.group(1)
        deadline = time.time() + 60
        while "ready" not in self._line():
            assert time.time() < deadline, "the server did not get ready"
        # It logs a line a request: read them as they come, so a long run never fills the pipe.
        self._drain = threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True)
        self._drain.start()

    def _line(self):
        line = self.proc.stderr.readline()
        assert line, "the server ended: " + "".join(self.log)
        self.log.append(line)
        return line

    def metrics(self):
        text = urllib.request.urlopen(self.url + "/metrics").read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def wait_idle(self, timeout=30, until=lambda m: True):
        """Waits until no request runs or waits, no KV block is in use and `until` holds;
        returns the metrics."""
        deadline = time.time() + timeout
        while True:
            m = self.metrics()
            if (m["kvscope_kv_blocks_used"] == 0 and m["kvscope_requests_running"] == 0
                    and m["kvscope_requests_waiting"] == 0 and until(m)):
                return m
            assert time.time() < deadline, f"blocks still in use: {m}"
            time.sleep(0.05)

    def exited(self, timeout=30):
        """Waits for the server to end; returns its exit status and everything it logged."""
        self.proc.wait(timeout=timeout)
        self._drain.join(timeout=timeout)
        return self.proc.returncode, "".join(self.log)

    def stop(self):
        self.proc.terminate()
        return self.exited()[0]


@pytest.fixture(scope="session")
def server():
    s = Server("--max-seqs", "8", "--ctx", "1024", "--kv-cache-mib", "256")
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="session")
def client(server):
    openai = pytest.importorskip("openai")
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)


def run_offline(prompt, max_tokens, *extra):
    """What `kvscope run` prints for a prompt: the reference for the server's text."""
    out = subprocess.run([BIN, "run", "-p", prompt, "-n", str(max_tokens), *extra],
                         capture_output=True, text=True, check=True)
    assert out.stdout.endswith("\n")
    return out.stdout[:-1]
