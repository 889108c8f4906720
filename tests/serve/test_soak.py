"""A bounded soak: 64 streams at once against kvscope serve for 60 s (KVSCOPE_SOAK_SECONDS sets
another length), each stream sending request after request as soon as the last one ends. No
request may fail, every stream must end with [DONE] after text, the KV blocks must all come back,
and the server's resident memory after the warm-up (the first quarter) must stay flat."""
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import Server
from test_faults import health, open_stream

STREAMS = 64
SECONDS = float(os.environ.get("KVSCOPE_SOAK_SECONDS", "60"))
# Allocator caches and the pool's first use settle during the warm-up; after it, growth beyond
# this is a leak.
ALLOWED_GROWTH_MIB = 16


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def one_stream(url, index, deadline, failures):
    rng = random.Random(index)
    sent = 0
    while time.time() < deadline:
        words = " ".join(rng.choice(["cat", "sky", "river", "stone", "light", "tree"])
                         for _ in range(rng.randint(4, 60)))
        try:
            conn, response = open_stream(url, {"prompt": f"Stream {index}: {words}",
                                               "max_tokens": rng.randint(4, 48),
                                               "temperature": 0.8, "seed": sent})
            body = response.read().decode()
            conn.close()
            if response.status != 200 or not body.rstrip().endswith("data: [DONE]") \
                    or body.count("data: ") < 2:
                failures.append(f"stream {index}: HTTP {response.status}: {body[-200:]!r}")
        except OSError as e:
            failures.append(f"stream {index}: {e}")
        sent += 1
    return sent


def test_64_streams_for_a_minute_fail_nothing_and_hold_memory_flat():
    s = Server("--max-seqs", "32", "--max-queue", "64", "--ctx", "512", "--kv-cache-mib", "256")
    failures, samples = [], []
    deadline = time.time() + SECONDS
    stop_sampling = threading.Event()

    def sample():
        while not stop_sampling.wait(1.0):
            samples.append((time.time(), resident_mib(s.proc.pid)))
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(STREAMS) as pool:
            sent = sum(pool.map(lambda i: one_stream(s.url, i, deadline, failures), range(STREAMS)))
    finally:
        stop_sampling.set()
        sampler.join()
    assert not failures, f"{len(failures)} of {sent} requests failed, first: {failures[:3]}"
    assert sent >= STREAMS * 2, "every stream should have sent more than one request"
    s.wait_idle()
    assert health(s.url) == 200
    warm = deadline - 0.75 * SECONDS
    after_warmup = [mib for t, mib in samples if t >= warm]
    assert len(after_warmup) >= 3, samples
    growth = max(after_warmup) - after_warmup[0]
    print(f"soak: {sent} requests in {SECONDS:.0f} s, resident {after_warmup[0]:.0f} MiB after the "
          f"warm-up, {max(after_warmup):.0f} MiB at most after it")
    assert growth <= ALLOWED_GROWTH_MIB, f"resident memory grew {growth:.1f} MiB: {samples}"
    assert s.stop() == 0
