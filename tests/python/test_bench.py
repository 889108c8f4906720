"""kvscope.bench returns the dicts the suites' --json writes."""
import json

import kvscope

QUICK = ["-r", "1", "--warmup", "0", "--no-log"]


def keys(d, depth=2):
    """Every key path of a dict, lists of dicts read through their first element."""
    out = set()
    for k, v in d.items():
        out.add(k)
        if depth > 1 and isinstance(v, list) and v and isinstance(v[0], dict):
            v = v[0]
        if depth > 1 and isinstance(v, dict):
            out |= {f"{k}.{sub}" for sub in keys(v, depth - 1)}
    return out


def cli_json(cli, tmp_path, *args):
    cli("bench", *args, *QUICK, "--json", str(tmp_path / "r.json"))
    return json.loads((tmp_path / "r.json").read_text())


def test_kv_compare(model, cli, tmp_path):
    r = kvscope.bench.kv_compare(model, prompt_tokens=8, new_tokens=4, repetitions=1, warmup=0)
    want = cli_json(cli, tmp_path, "kv-compare", "--prompt-tokens", "8", "--new-tokens", "4")
    assert keys(r) == keys(want)
    assert r["all_identical"] and [s["strategy"] for s in r["strategies"]] == \
        ["none", "concat", "prealloc", "paged"]
    assert [s["output_ids"] for s in r["strategies"]] == [s["output_ids"] for s in want["strategies"]]


def test_sweep(model, cli, tmp_path):
    r = kvscope.bench.sweep(model, prompt_tokens=[8], new_tokens=[3], batch=[1, 2],
                            repetitions=1, warmup=0)
    want = cli_json(cli, tmp_path, "sweep", "--prompt-tokens", "8", "--new-tokens", "3",
                    "--batch", "1,2")
    assert keys(r) == keys(want) and r["suite"] == "sweep" and len(r["points"]) == 4


def test_cases(model, cli, tmp_path):
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({"cases": [{"name": "two", "prompts": ["Hi", "Why?"],
                                            "new_tokens": 3}]}))
    r = kvscope.bench.cases(model, str(cases), repetitions=1, warmup=0, strategies=["prealloc"])
    want = cli_json(cli, tmp_path, "cases", "--cases", str(cases), "--strategies", "prealloc")
    assert keys(r) == keys(want) and r["cases"][0]["name"] == "two"
