"""`kvscope bench serve` against kvscope serve: every request completes, the token counts are the
server's, and the JSON carries vLLM's field names."""
import json
import subprocess

from conftest import BIN


def bench(server, tmp_path, *args):
    out = tmp_path / "serve.json"
    subprocess.run([BIN, "bench", "serve", "--base-url", server.url, "--random-input-len", "32",
                    "--random-output-len", "8", "--ignore-eos", "--json", str(out), "--no-log",
                    *args], check=True, capture_output=True, text=True)
    return json.loads(out.read_text())


def test_bench_serve_at_a_fixed_concurrency(server, tmp_path):
    r = bench(server, tmp_path, "--num-prompts", "8", "--max-concurrency", "4")
    assert r["completed"] == 8 and r["failed"] == 0
    assert r["total_output_tokens"] == 64
    assert r["total_input_tokens"] >= 8 * 16
    for key in ("request_throughput", "output_throughput", "total_token_throughput",
                "mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "p99_itl_ms",
                "median_e2el_ms", "std_e2el_ms"):
        assert r[key] > 0, key
    assert r["mean_ttft_ms"] <= r["mean_e2el_ms"]
    assert r["max_concurrency"] == 4 and r["request_rate"] == "inf"
    # vLLM's per-request lists, in the order sent, and kvscope's end-to-end latencies beside.
    assert r["output_lens"] == [8] * 8 and len(r["input_lens"]) == 8
    assert all(0 < t <= e for t, e in zip(r["ttfts"], r["e2els"]))
    # A gap between chunks with text: 7 for 8 tokens, fewer when a chunk carries two tokens.
    assert all(0 < len(gaps) <= 7 for gaps in r["itls"]), r["itls"]
    assert r["suite"] == "serve" and "kvscope_version" in r["system"]


def test_bench_serve_draws_its_charts(server, tmp_path):
    bench(server, tmp_path, "--num-prompts", "4", "--plot", str(tmp_path / "plots"))
    for name in ("serve_latency", "serve_requests"):
        for ext in ("png", "svg"):
            assert (tmp_path / "plots" / f"{name}.{ext}").stat().st_size > 1000, name
    page = tmp_path / "report.html"
    subprocess.run([BIN, "report", str(tmp_path / "serve.json"), "--html", str(page)], check=True,
                   capture_output=True)
    assert "Latency percentiles" in page.read_text()


def test_bench_serve_poisson_arrivals_on_chat(server, tmp_path):
    r = bench(server, tmp_path, "--num-prompts", "6", "--request-rate", "20",
              "--endpoint", "/v1/chat/completions", "--goodput", "e2el:60000")
    assert r["completed"] == 6 and r["request_rate"] == 20
    assert r["request_goodput"] == r["request_throughput"]
    server.wait_idle()
