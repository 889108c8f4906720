"""The bench suites from Python, returning the dicts their --json writes (docs/results.md):

    kvscope.bench.kv_compare(model, prompt_tokens=50, new_tokens=100)
    kvscope.bench.sweep(model, prompt_tokens=[32, 128], new_tokens=[32], batch=[1, 2, 4, 8])
    kvscope.bench.cases(model)

Strategies run alternately after warm-up runs, their outputs verified identical (the dict's
"all_identical"); Ctrl-C stops between runs and keeps what was measured ("interrupted")."""
from __future__ import annotations

import json
from typing import Sequence

from kvscope import _kvscope
from kvscope.model import Model


def _measure(model: Model, repetitions, warmup, strategies, threads, kv_type, precision,
             block_size, prefix_cache) -> dict:
    return dict(repetitions=repetitions, warmup=warmup, strategies=list(strategies or []),
                threads=model.threads if threads is None else threads, kv_type=kv_type,
                precision=precision or model.precision, block_size=block_size,
                prefix_cache=prefix_cache)


def kv_compare(model: Model, prompt_tokens: int = 50, new_tokens: int = 100, *,
               repetitions: int | None = None, warmup: int | None = None,
               strategies: Sequence[str] | None = None, baseline: str | None = None,
               threads: int | None = None, kv_type: str = "f32", precision: str | None = None,
               block_size: int = 16, prefix_cache: bool = False) -> dict:
    """`kvscope bench kv-compare --json`: the cache strategies (default none, concat, prealloc,
    paged) on one prompt, speedups against the baseline (default the first), the complexity
    analysis, every strategy's output ids and logits hash."""
    return json.loads(_kvscope.kv_compare(
        model._native, prompt_tokens, new_tokens, baseline=baseline,
        **_measure(model, repetitions, warmup, strategies, threads, kv_type, precision,
                   block_size, prefix_cache)))


def sweep(model: Model, prompt_tokens: Sequence[int] = (32, 128), new_tokens: Sequence[int] = (32,),
          batch: Sequence[int] = (1, 2, 4, 8), *, repetitions: int | None = None,
          warmup: int | None = None, strategies: Sequence[str] | None = None,
          threads: int | None = None, kv_type: str = "f32", precision: str | None = None,
          block_size: int = 16, prefix_cache: bool = False) -> dict:
    """`kvscope bench sweep --json`: every prompt length × generation length × batch size, with
    and without the cache (strategies default none, paged)."""
    return json.loads(_kvscope.sweep(
        model._native, list(prompt_tokens), list(new_tokens), list(batch),
        **_measure(model, repetitions, warmup, strategies, threads, kv_type, precision,
                   block_size, prefix_cache)))


def cases(model: Model, path: str | None = None, new_tokens: int = 20, *,
          repetitions: int | None = None, warmup: int | None = None,
          strategies: Sequence[str] | None = None, threads: int | None = None,
          kv_type: str = "f32", precision: str | None = None, block_size: int = 16,
          prefix_cache: bool = False) -> dict:
    """`kvscope bench cases --json`: the named cases (single_short ... batch_3_mixed), or those of
    a JSON file ({"cases": [{"name": ..., "prompts": [...], "new_tokens": 16}]})."""
    return json.loads(_kvscope.cases(
        model._native, path, new_tokens,
        **_measure(model, repetitions, warmup, strategies, threads, kv_type, precision,
                   block_size, prefix_cache)))


def benchmark_prompt(model: Model, n: int, shift: int = 0) -> list[int]:
    """The suites' prompt of exactly n tokens (a fixed English text, from `shift` tokens in)."""
    return _kvscope.benchmark_prompt(model._native, n, shift)
