"""kvscope.Tracker around a plain Python loop of known sleeps: its figures lie within the times
measured around each call (time.monotonic reads the clock kvscope's C++ reads), and its JSON is
what `kvscope report` draws."""
import json
import time

import pytest

import kvscope


def tracked_loop(tokens=5, first_s=0.05, gap_s=0.02):
    """The seed's manual-tracking loop; returns the tracker and the (before, after) times of the
    start and of each output token."""
    t = kvscope.Tracker()
    before = time.monotonic()
    t.start()
    marks = [(before, time.monotonic())]
    t.log_token(10, is_input=True)
    for i in range(tokens):
        time.sleep(first_s if i == 0 else gap_s)
        before = time.monotonic()
        if i == 0:
            t.log_first_token()
        t.log_token(1, is_input=False)
        marks.append((before, time.monotonic()))
        t.log_step()
    t.stop()
    return t, marks


def within(value, earlier, later):
    """value is the time from a mark of `earlier` to one of `later`: between the nearest and the
    farthest readings around them."""
    return later[0] - earlier[1] <= value <= later[1] - earlier[0]


def test_figures_on_a_known_loop():
    t, marks = tracked_loop()
    m = t.metrics()
    assert (m.input_tokens, m.output_tokens, t.steps) == (10, 5, 5)
    assert within(m.ttft_s, marks[0], marks[1]) and m.ttft_s >= 0.05
    assert within(m.e2e_s, marks[0], marks[-1])
    for i, gap in enumerate(m.itl_s):
        assert within(gap, marks[i + 1], marks[i + 2]) and gap >= 0.02
    assert m.tpot_s == pytest.approx((m.e2e_s - m.ttft_s) / 4, rel=1e-9)
    assert m.input_tps == pytest.approx(10 / m.ttft_s, rel=1e-9)
    assert m.output_tps == pytest.approx(4 / (m.e2e_s - m.ttft_s), rel=1e-9)
    assert m.overall_tps == pytest.approx(15 / m.e2e_s, rel=1e-9)
    warm = t.metrics(discard_first=1)
    assert warm.itl_s == m.itl_s[1:] and warm.ttft_s == m.ttft_s
    assert "Time per output token" in kvscope.format_metrics(m)


def test_json_is_what_kvscope_report_draws(cli, tmp_path):
    t, _ = tracked_loop(tokens=3, first_s=0.01, gap_s=0.01)
    t.save(tmp_path / "run.json")
    result = json.loads((tmp_path / "run.json").read_text())
    assert result["sequences"][0] == t.metrics().to_dict()
    cli("report", str(tmp_path / "run.json"), "--out-dir", str(tmp_path), "--format", "svg")
    assert (tmp_path / "run_token_latency.svg").exists()


def test_marks_out_of_order_raise():
    t = kvscope.Tracker()
    with pytest.raises(kvscope.Error, match=r"Tracker.log_token: call start\(\) first"):
        t.log_token(1)
    t.start()
    t.stop()
    with pytest.raises(kvscope.Error, match="was stopped"):
        t.log_step()
    t.start()
    with pytest.raises(kvscope.Error, match="at least 0"):
        t.log_token(-1)
