"""Two replicas behind nginx (Debian's package): when one is killed mid-run, requests sent after
the kill all succeed on the other (proxy_next_upstream), and those in flight on the killed one
end with an error, never a hang."""
import http.client
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import Server

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

CONFIG = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream kvscope {{
    server {a} max_fails=1 fail_timeout=60s;
    server {b} max_fails=1 fail_timeout=60s;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://kvscope;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 120s;
      proxy_next_upstream error timeout http_502 http_503;
    }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamed_ok(port, i):
    """Whether a streamed completion through nginx ended with [DONE]."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = {"prompt": f"Request {i}", "max_tokens": 24, "ignore_eos": True, "stream": True}
        conn.request("POST", "/v1/completions", json.dumps(body),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        # An error event is an object with an "error" key; a generated token may be the word.
        events = [json.loads(line[6:]) for line in text.splitlines()
                  if line.startswith("data: ") and line != "data: [DONE]"]
        return r.status == 200 and "data: [DONE]" in text and not any("error" in e for e in events)
    except (OSError, http.client.HTTPException):
        return False


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (scripts/install_deps.sh)")
def test_a_replica_killed_mid_run(tmp_path):
    a, b = Server("--ctx", "256"), Server("--ctx", "256")
    port = free_port()
    config = tmp_path / "nginx.conf"
    config.write_text(CONFIG.format(dir=tmp_path, port=port, a=a.url[7:], b=b.url[7:]))
    nginx = subprocess.Popen([NGINX, "-c", str(config), "-p", str(tmp_path)],
                             stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while not streamed_ok(port, -1):
            assert time.time() < deadline, "nginx did not come up"
            time.sleep(0.1)
        sent, killed_at = [], []

        def one(i):
            sent.append((i, time.time()))
            return streamed_ok(port, i)

        def kill_a():
            time.sleep(1.0)
            killed_at.append(time.time())
            a.proc.send_signal(signal.SIGKILL)
        killer = threading.Thread(target=kill_a)
        killer.start()
        with ThreadPoolExecutor(4) as pool:
            futures = []
            for i in range(24):
                futures.append(pool.submit(one, i))
                time.sleep(0.1)
            ok = [f.result() for f in futures]
        killer.join()
        sent_at = dict(sent)
        after = [ok[i] for i in range(24) if sent_at[i] > killed_at[0] + 0.05]
        assert after and all(after), f"a request sent after the kill failed: {ok}"
        assert sum(ok) >= len(after)
    finally:
        nginx.send_signal(signal.SIGTERM)
        nginx.wait(timeout=10)
        a.proc.wait(timeout=10)
        assert b.stop() == 0
