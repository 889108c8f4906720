"""The metrics of a generation: run --metrics-json's fields, consistent with their definitions,
and run --metrics' block."""
import json

import pytest

import kvscope


@pytest.fixture(scope="module")
def run(model):
    return model.generate("The capital of France is", max_new_tokens=12, return_metrics=True)


def test_fields_are_those_of_run_metrics_json(run, cli, tmp_path):
    out = tmp_path / "m.json"
    cli("run", "-p", "The capital of France is", "-n", "12", "--metrics-json", str(out))
    want = json.loads(out.read_text())["sequences"][0]
    _, m = run
    d = m.to_dict()
    assert d.keys() == want.keys()
    assert d["memory"].keys() == want["memory"].keys()
    for key in ("input_tokens", "output_tokens"):
        assert d[key] == want[key]
    assert m.ttft_s == d["ttft_s"] and m.memory == d["memory"]


def test_figures_follow_their_definitions(run):
    _, m = run
    assert m.output_tokens == len(m.token_latency_s) == len(m.itl_s) + 1
    assert m.tpot_s == pytest.approx((m.e2e_s - m.ttft_s) / (m.output_tokens - 1), rel=1e-9)
    assert m.output_tps == pytest.approx((m.output_tokens - 1) / (m.e2e_s - m.ttft_s), rel=1e-9)
    assert m.input_tps == pytest.approx(m.input_tokens / m.ttft_s, rel=1e-9)
    assert m.overall_tps == pytest.approx((m.input_tokens + m.output_tokens) / m.e2e_s, rel=1e-9)
    assert sum(m.tps_per_second) == m.output_tokens
    assert m.memory["kv_bytes_per_token"] > 0 and m.memory["kv_reserved_bytes"] > 0


def test_format_metrics_prints_the_cli_block(run, cli):
    _, m = run
    block = kvscope.format_metrics(m)
    for line in ("📊 Performance metrics", "Time to first token", "Inter-token latency",
                 "Tokens/s", "Stability", "KV cache"):
        assert line in block
    short = kvscope.format_metrics(m, show_detailed=False)
    assert "Tokens/s" in short and "Inter-token latency" not in short
    assert f"{m.input_tokens} input, {m.output_tokens} output" in short


def test_a_batch_numbers_its_blocks(model):
    _, ms = model.generate(["Hi", "Hello"], max_new_tokens=4, return_metrics=True)
    assert "sequence 2 of 2" in kvscope.format_metrics(ms[1])
