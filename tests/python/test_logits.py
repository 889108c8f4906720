"""logits(): the exact path against transformers' committed goldens, and the fast path bitwise
equal to the logits the C++ engine samples from."""
import json
import pathlib

import numpy as np

import kvscope

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def fnv1a(data: bytes, h: int = 0xCBF29CE484222325) -> int:
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def logits_hash(*sequences: np.ndarray) -> str:
    """The suites' logits hash (src/bench/workload.cpp): each sequence's rows in order, then the
    sequences' hashes as little-endian 64-bit words."""
    per_sequence = [fnv1a(np.ascontiguousarray(rows, dtype=np.float32).tobytes()) for rows in sequences]
    return f"{fnv1a(b''.join(h.to_bytes(8, 'little') for h in per_sequence)):016x}"


def test_exact_logits_match_the_goldens(model):
    goldens = json.loads((FIXTURES / "default_model/goldens.json").read_text())
    ids = goldens["text_ids"]
    logits = model.logits(ids, precision="exact")
    assert logits.shape == (len(ids), model.config["hyperparameters"]["vocab_size"])
    assert logits.dtype == np.float32 and not logits.flags.owndata  # kvscope's buffer, no copy
    top1 = logits.argmax(axis=1)
    assert np.mean(top1 == np.array(goldens["text_top1"])) >= 0.99
    got = np.take_along_axis(logits, np.array(goldens["top_ids"]), axis=1)
    # The C++ test's tolerance (tests/models/default_model_test.cpp): f32 over the same weights.
    assert np.max(np.abs(got - np.array(goldens["top_logits"]))) <= 1e-3


def test_fast_logits_are_the_engines_bitwise(model):
    prompt = kvscope.bench.benchmark_prompt(model, 8)
    r = kvscope.bench.kv_compare(model, prompt_tokens=8, new_tokens=4, repetitions=1, warmup=0,
                                 strategies=["prealloc", "paged"])
    s = r["strategies"][0]
    ids = prompt + s["output_ids"][:-1]
    logits = model.logits(ids)  # every step's logits, recomputed in one teacher-forced pass
    assert list(logits[len(prompt) - 1:].argmax(axis=1)) == s["output_ids"]
    assert logits_hash(logits[len(prompt) - 1:]) == s["logits_hash"]
    assert np.array_equal(model.logits(ids), logits)
