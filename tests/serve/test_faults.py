"""Faults through raw HTTP: malformed bodies, oversized ones, long prompts, clients that go away,
too many requests, wrong keys, shutdown. Each gets its status and OpenAI's error envelope, the
KV blocks come back, and /health stays 200."""
import http.client
import json
import random
import signal
import socket
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from conftest import Server


def post(url, path, body, headers=None):
    """(status, parsed body) of a POST; body may be bytes (sent as they are) or an object."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, data, {"Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, json.loads(raw)


def open_stream(url, body):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("POST", "/v1/completions", json.dumps({**body, "stream": True}),
                 {"Content-Type": "application/json"})
    return conn, conn.getresponse()


def read_events(response, count):
    """Reads `count` data events of a stream (skipping pings and blank lines)."""
    while count > 0:
        line = response.readline()
        assert line, "the stream ended early"
        if line.startswith(b"data: "):
            count -= 1


def assert_error(status, body, expected_status, code=None):
    assert status == expected_status
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert error["code"] == code


def health(url):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/health")
    return conn.getresponse().status


def test_malformed_json(server):
    status, body = post(server.url, "/v1/completions", b'{"prompt": "Hi", ')
    assert_error(status, body, 400)
    assert body["error"]["type"] == "invalid_request_error"


def test_bad_field_is_named(server):
    status, body = post(server.url, "/v1/completions", {"prompt": "Hi", "temperature": "warm"})
    assert_error(status, body, 400)
    assert body["error"]["param"] == "temperature"


def test_body_over_the_limit(server):
    status, body = post(server.url, "/v1/completions",
                        {"prompt": "x" * (2 << 20), "max_tokens": 1})
    assert_error(status, body, 413, "request_too_large")


def test_prompt_over_the_context(server):
    status, body = post(server.url, "/v1/completions", {"prompt": "hello " * 1100})
    assert_error(status, body, 400, "context_length_exceeded")
    status, body = post(server.url, "/v1/completions", {"prompt": "hello", "max_tokens": 5000})
    assert_error(status, body, 400, "context_length_exceeded")


def test_unknown_path(server):
    status, body = post(server.url, "/v1/embeddings", {"input": "x"})
    assert_error(status, body, 404, "unknown_url")


def assert_going_away_frees_blocks(server, body, events):
    """A client that closes its stream after `events` data events cancels its request."""
    before = server.metrics()["kvscope_requests_aborted_total"]
    conn, response = open_stream(server.url, body)
    assert response.status == 200
    read_events(response, events)
    conn.sock.close()
    conn.close()
    server.wait_idle(until=lambda m: m["kvscope_requests_aborted_total"] == before + 1)
    assert health(server.url) == 200


def test_disconnect_mid_stream_frees_its_blocks(server):
    assert_going_away_frees_blocks(server, {"prompt": "Tell me a long story.", "max_tokens": 400,
                                            "ignore_eos": True}, random.randint(1, 20))


def test_cancel_during_prefill_frees_its_blocks(server):
    assert_going_away_frees_blocks(server, {"prompt": "word " * 900, "max_tokens": 100}, 0)


def test_going_away_from_a_request_not_streamed_frees_its_blocks(server):
    """A client that closes its connection while it waits for a whole answer cancels it, long
    before its 400 tokens would have ended it."""
    before = server.metrics()
    u = urllib.parse.urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("POST", "/v1/completions", json.dumps({"prompt": "Tell me a long story.",
                                                         "max_tokens": 400, "ignore_eos": True}),
                 {"Content-Type": "application/json"})
    generated_before = before["kvscope_generation_tokens_total"]
    deadline = time.time() + 30
    while server.metrics()["kvscope_generation_tokens_total"] == generated_before:
        assert time.time() < deadline, "the request never started decoding"
        time.sleep(0.02)
    conn.sock.close()
    conn.close()
    aborted = before["kvscope_requests_aborted_total"] + 1
    m = server.wait_idle(until=lambda m: m["kvscope_requests_aborted_total"] == aborted)
    assert m["kvscope_generation_tokens_total"] - generated_before < 400
    assert health(server.url) == 200


def test_twice_max_seqs_streams_all_succeed(server):
    def one(i):
        conn, response = open_stream(server.url, {"prompt": f"Number {i}", "max_tokens": 8})
        lines = response.read().decode().split("\n\n")
        conn.close()
        return response.status, lines
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(16)))
    for status, events in results:
        assert status == 200
        assert "data: [DONE]" in events
    server.wait_idle()
    assert health(server.url) == 200


def listen_overflows():
    """Connections this network namespace's listening sockets had no room for, so far."""
    with open("/proc/net/netstat") as f:
        names, values = [line.split() for line in f][:2]
    return int(values[names.index("ListenOverflows")])


def test_a_burst_of_connections_finds_room(server):
    # Clients that connect at once (a benchmark's 32 streams starting together) must all be
    # queued for accept(): an overflow hands them to SYN cookies, which lose some. The SYNs go
    # out together from non-blocking sockets.
    u = urllib.parse.urlparse(server.url)
    before = listen_overflows()
    socks = []
    for _ in range(256):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((u.hostname, u.port))
        socks.append(s)
    for s in socks:
        s.settimeout(30)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    replies = []
    for s in socks:
        replies.append(s.recv(64))
        s.close()
    assert all(r.startswith(b"HTTP/1.1 200") for r in replies)
    assert listen_overflows() == before


def test_full_queue_is_429():
    s = Server("--max-seqs", "1", "--max-queue", "0", "--ctx", "256")
    try:
        conn, response = open_stream(s.url, {"prompt": "Hi", "max_tokens": 200, "temperature": 0,
                                             "ignore_eos": True})
        assert response.status == 200
        response.readline()
        status, body = post(s.url, "/v1/completions", {"prompt": "Hi", "max_tokens": 1})
        assert_error(status, body, 429, "rate_limit_exceeded")
        conn.close()
    finally:
        assert s.stop() == 0


def test_api_key():
    s = Server("--api-key", "sesame", "--ctx", "256")
    try:
        request = {"prompt": "Hi", "max_tokens": 2}
        assert_error(*post(s.url, "/v1/completions", request), 401, "invalid_api_key")
        assert_error(*post(s.url, "/v1/completions", request, {"Authorization": "Bearer nope"}),
                     401, "invalid_api_key")
        status, _ = post(s.url, "/v1/completions", request, {"Authorization": "Bearer sesame"})
        assert status == 200
        assert health(s.url) == 200
    finally:
        assert s.stop() == 0


def test_sigterm_ends_streams_with_an_error_and_exits_cleanly():
    s = Server("--ctx", "512")
    conn, response = open_stream(s.url, {"prompt": "Hi", "max_tokens": 400, "ignore_eos": True})
    assert response.status == 200
    read_events(response, 1)
    events = []
    reader = threading.Thread(target=lambda: events.append(response.read().decode()))
    reader.start()
    s.proc.send_signal(signal.SIGTERM)
    status, log = s.exited()
    reader.join(timeout=30)
    assert status == 0
    assert '"error"' in events[0] and "shutting down" in events[0]
    assert "SIGTERM: stopping" in log
