"""Generation metrics with the definitions of kvscope's C++ (src/metrics): TTFT, TPOT, ITL,
tokens/s, stability, memory and KV bytes, as `kvscope run --metrics-json` writes them."""
from __future__ import annotations

import json
from typing import Any

from kvscope import _kvscope


class Metrics:
    """One sequence's figures. Every field of `run --metrics-json`'s sequence is an attribute:
    input_tokens, output_tokens, ttft_s, e2e_s, tpot_s, itl_s, itl_summary, token_latency_s,
    input_tps, output_tps, overall_tps, peak_tps, tps_per_second, rate_stddev,
    rate_relative_stddev, memory (a dict: rss_before_bytes, peak_rss_bytes, kv_reserved_bytes,
    kv_used_bytes, kv_bytes_per_token, model_bytes, packed_bytes)."""

    def __init__(self, native: _kvscope.Metrics, index: int = 1, count: int = 1):
        self._native = native
        self._index, self._count = index, count
        self._fields = json.loads(native.json())

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_fields"][name]
        except KeyError:
            raise AttributeError(f"Metrics has no field '{name}'") from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._fields))

    def to_dict(self) -> dict:
        """The fields as `run --metrics-json` writes them for one sequence."""
        return json.loads(self._native.json())

    def __repr__(self) -> str:
        return (f"Metrics(input_tokens={self.input_tokens}, output_tokens={self.output_tokens}, "
                f"ttft_s={self.ttft_s:.4f}, tpot_s={self.tpot_s:.4f}, "
                f"output_tps={self.output_tps:.1f})")


def format_metrics(metrics: Metrics, show_detailed: bool = True) -> str:
    """The performance block `kvscope run --metrics` prints; without show_detailed, only the
    tokens, times and rates."""
    return metrics._native.format(show_detailed, metrics._index, metrics._count)


class Tracker:
    """Metrics for a generation loop kvscope does not run (a PyTorch model, a nanoGPT script),
    computed by kvscope's C++ definitions:

        tracker = kvscope.Tracker()
        tracker.start()
        tracker.log_token(len(prompt_ids), is_input=True)
        for i in range(max_new_tokens):
            next_id = model(ids).argmax()      # your step
            if i == 0:
                tracker.log_first_token()
            tracker.log_token(1)
            tracker.log_step()
        tracker.stop()
        print(kvscope.format_metrics(tracker.metrics()))
        tracker.save("run.json")                # then: kvscope report run.json
    """

    def __init__(self):
        self._native = _kvscope.Tracker()

    def start(self) -> None:
        """The request arrives: TTFT counts from here. Forgets an earlier run."""
        self._native.start()

    def log_token(self, n: int = 1, is_input: bool = False) -> None:
        """n prompt tokens (is_input), or n output tokens emitted now."""
        self._native.log_token(n, is_input)

    def log_first_token(self) -> None:
        """The first output token arrived now (it stands for the first one logged, or is one)."""
        self._native.log_first_token()

    def log_step(self) -> None:
        """One step (forward pass) of the loop ended."""
        self._native.log_step()

    def stop(self) -> None:
        """The run ended: memory is read; start() begins another."""
        self._native.stop()

    @property
    def steps(self) -> int:
        return self._native.steps

    def metrics(self, discard_first: int = 0) -> Metrics:
        """The figures so far; discard_first leaves that many first tokens out of the decode
        figures (ITL, TPOT, rates) as warm-up, as `run --discard-first` does."""
        return Metrics(self._native.metrics(discard_first))

    def to_json(self, discard_first: int = 0) -> str:
        """A run's JSON, as `kvscope run --metrics-json` writes it and `kvscope report` draws it."""
        return self._native.json(discard_first)

    def save(self, path: str, discard_first: int = 0) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json(discard_first) + "\n")
