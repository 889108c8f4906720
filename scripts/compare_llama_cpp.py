#!/usr/bin/env python3
"""kvscope against llama.cpp, side by side in one run on the same GGUF files and threads.

Builds llama.cpp's tools once (scripts/build_llama_cpp.sh, cached outside the repo), makes Q8_0 and
F16 copies of the default model with llama-quantize, then for each file runs each test with
llama-bench (or llama-batched-bench) and `kvscope bench speed`, alternating the two tools
repetition by repetition so that a drift of the machine hits both, and prints the ratio table
(medians of the repetitions). Both use an f16 KV cache, llama.cpp's default.

Faithfulness, side by side too: llama-perplexity --kl-divergence of llama.cpp's runs against its
own F32 run with an f32 KV cache (an F32 copy of the weights made with llama-quantize), and
`kvscope bench faithfulness` against its exact path with an f32 cache, on the same text, context
and number of chunks: F32 weights with an f16 and a q8_0 KV cache (the cost of the KV storage
alone), then the Q4_1 weights with each (kvscope's fast path). For the BF16, Q4_K_M and Q5_K_M
copies (--models), each against its own weights: llama.cpp against an F32 copy of that file,
kvscope's fast path against its exact path on it, both with an f16 KV cache.

With --ik-llama-cpp BIN (the directory scripts/build_ik_llama_cpp.sh prints), ik_llama.cpp, llama.cpp's
fastest CPU fork, is a third column of the speed table, in the same alternation: its llama-bench with
flash attention and run-time repacking (-fa 1 -rtr 1, its fastest CPU settings), decode after a prompt
as -gp DEPTH,128, and its llama-batched-bench with -fa. With --no-llama-cpp it is the only peer: llama.cpp
is neither built nor run, and the faithfulness half is left out.

Usage: python3 scripts/compare_llama_cpp.py [--reps 3] [--threads 2] [--json out.json] [--quick]
                                            [--models Q4_1,Q8_0,F16,BF16,Q4_K_M,Q5_K_M,FILE.gguf]
                                            [--tests pp512,tg128,...] [--precision fast|int8]
                                            [--no-speed] [--no-faithfulness]
                                            [--ik-llama-cpp BIN [--no-llama-cpp]]"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
KVSCOPE = ROOT / "build" / "release" / "tools" / "kvscope" / "kvscope"
DEFAULT_MODEL = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
# (name, n_prompt, n_gen, n_depth, sequences)
SINGLE = [("pp512", 512, 0, 0, 1), ("tg128", 0, 128, 0, 1), ("tg128 @ d512", 0, 128, 512, 1),
          ("tg128 @ d4096", 0, 128, 4096, 1)]
BATCHED = [("tg32 ×8 @ d128", 0, 32, 128, 8), ("tg32 ×32 @ d128", 0, 32, 128, 32)]


def run(cmd, cwd=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd)
    return out.stdout


def progress(text):
    print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)


def bench_args(model, test, threads):
    """llama-bench's arguments for one test; `kvscope bench speed` takes the same (-npl: sequences)."""
    _, p, n, d, b = test
    args = ["-m", str(model), "-p", str(p), "-n", str(n), "-d", str(d), "-t", str(threads), "-r", "1",
            "-ctk", "f16", "-ctv", "f16", "-o", "json"]
    return args + (["-npl", str(b)] if b > 1 else [])


def llama_single(bin_dir, model, test, threads):
    out = run([str(bin_dir / "llama-bench")] + bench_args(model, test, threads))
    return json.loads(out)[0]["avg_ts"]


def llama_batched(bin_dir, model, test, threads):
    _, _, n, d, b = test
    out = run([str(bin_dir / "llama-batched-bench"), "-m", str(model), "-c", str(b * (d + n) + 64),
               "-npp", str(d), "-ntg", str(n), "-npl", str(b), "-t", str(threads), "--output-format", "jsonl"])
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    return rows[-1]["speed_tg"]


# ik_llama.cpp's tools write llama.log into their working directory: not into the repo.
IK_WORKDIR = tempfile.gettempdir()


def ik_single(bin_dir, model, test, threads):
    _, p, n, d, _ = test
    shape = ["-p", "0", "-n", "0", "-gp", f"{d},{n}"] if d > 0 else ["-p", str(p), "-n", str(n)]
    out = run([str(bin_dir / "llama-bench"), "-m", str(model)] + shape +
              ["-t", str(threads), "-r", "1", "-ctk", "f16", "-ctv", "f16", "-fa", "1", "-rtr", "1", "-o", "json"],
              cwd=IK_WORKDIR)
    return json.loads(out)[0]["avg_ts"]


def ik_batched(bin_dir, model, test, threads):
    """ik_llama.cpp's llama-batched-bench prints only its table (to stderr when stdout is not a terminal):
    S_TG t/s of the last row."""
    _, _, n, d, b = test
    done = subprocess.run([str(bin_dir / "llama-batched-bench"), "-m", str(model), "-c", str(b * (d + n) + 64),
                           "-fa", "on", "-npp", str(d), "-ntg", str(n), "-npl", str(b), "-t", str(threads)],
                          check=True, capture_output=True, text=True, cwd=IK_WORKDIR)
    lines = (done.stdout + done.stderr).splitlines()
    rows = [l.split("|") for l in lines if l.startswith("|") and l.split("|")[1].strip().isdigit()]
    return float(rows[-1][8])


def kvscope(model, test, threads, precision):
    record = json.loads(run([str(KVSCOPE), "bench", "speed", "--precision", precision]
                            + bench_args(model, test, threads)))[0]
    return record["avg_ts"], record


TEXT = ROOT / "tests" / "fixtures" / "text" / "python_docs.txt"
CHUNKS = 8  # of 512 tokens: the first 4096 tokens of the text


# (weights, KV type) measured against the F32 weights with an f32 KV cache: the KV type alone on
# F32 weights (kvscope's exact path), then with the quantized weights (kvscope's fast path).
FAITHFULNESS = [("F32", "f16"), ("F32", "q8_0"), ("Q4_1", "f16"), ("Q4_1", "q8_0")]
# Copies made by scripts/build_llama_cpp.sh --quantize; OWN_F32's are measured against an F32 copy
# of themselves (the default model's F32 copy holds its Q4_1 values, not theirs).
COPIES = ("Q8_0", "F16", "BF16", "Q4_K_M", "Q5_K_M")
OWN_F32 = ("BF16", "Q4_K_M", "Q5_K_M")


def model_path(bin_dir, label):
    if label.endswith(".gguf"):
        return pathlib.Path(label)
    if label == "Q4_1":
        return DEFAULT_MODEL
    return bin_dir.parent.parent / "models" / f"SmolLM2-135M-Instruct.{label}.gguf"


def llama_faithfulness(bin_dir, threads, weights, kv_type):
    source = model_path(bin_dir, weights) if weights in OWN_F32 else DEFAULT_MODEL
    suffix = f".{weights}.F32.gguf" if weights in OWN_F32 else ".F32.gguf"
    f32 = bin_dir.parent.parent / "models" / f"SmolLM2-135M-Instruct{suffix}"
    if not f32.exists():
        run([str(bin_dir / "llama-quantize"), "--allow-requantize", str(source), str(f32), "F32"])
    base = f32.with_suffix(".kld")
    # A quantized V cache needs flash attention in llama.cpp: every run uses it, the base too.
    common = ["-f", str(TEXT), "-c", "512", "--chunks", str(CHUNKS), "-t", str(threads), "-fa", "on"]
    if not base.exists():
        run([str(bin_dir / "llama-perplexity"), "-m", str(f32), "--kl-divergence-base", str(base),
             "-ctk", "f32", "-ctv", "f32"] + common)
    model = f32 if weights == "F32" else model_path(bin_dir, weights)
    out = subprocess.run([str(bin_dir / "llama-perplexity"), "-m", str(model), "--kl-divergence-base",
                          str(base), "--kl-divergence", "-ctk", kv_type, "-ctv", kv_type] + common,
                         check=True, capture_output=True, text=True)
    text = out.stdout + out.stderr
    def field(name):  # "Name: value ± error"
        line = next(l for l in text.splitlines() if l.strip().startswith(name))
        return float(line.split(":", 1)[1].split()[0])
    return {"same_top1": field("Same top p") / 100, "mean_kl": field("Mean    KLD:")}


def kvscope_faithfulness(bin_dir, threads, weights, kv_type):
    precision = "exact" if weights == "F32" else "fast"
    model = DEFAULT_MODEL if weights == "F32" else model_path(bin_dir, weights)
    out = run([str(KVSCOPE), "bench", "faithfulness", "-m", str(model), "--text", str(TEXT), "--ctx", "512",
               "--max-tokens", str(512 * CHUNKS), "-t", str(threads), "--precision", precision,
               "--kv-type", kv_type, "--json", "/dev/stdout"])
    result, _ = json.JSONDecoder().raw_decode(out[out.index("{"):])
    return {"same_top1": result["same_top1"], "mean_kl": result["kl"]["mean"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the measurements here")
    ap.add_argument("--quick", action="store_true", help="only the default Q4_1 file")
    ap.add_argument("--models", default="Q4_1,Q8_0,F16",
                    help="comma-separated, of Q4_1 (the default file), its copies " + ", ".join(COPIES)
                    + ", and paths of other GGUF files (such as scripts/make_1b_model.py's)")
    ap.add_argument("--tests", help="comma-separated, of " + ", ".join(t[0] for t in SINGLE + BATCHED)
                    + " (default: all)")
    ap.add_argument("--precision", default="fast", choices=["fast", "int8"],
                    help="kvscope's speed runs: fast (the default) or int8, 8-bit activations alone as "
                         "llama.cpp's")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-faithfulness", action="store_true")
    ap.add_argument("--ik-llama-cpp", type=pathlib.Path, metavar="BIN",
                    help="ik_llama.cpp's bin directory (scripts/build_ik_llama_cpp.sh): a third speed column")
    ap.add_argument("--no-llama-cpp", action="store_true",
                    help="speed beside ik_llama.cpp alone: no llama.cpp build, column or faithfulness; "
                         "models Q4_1 or .gguf paths")
    args = ap.parse_args()
    if args.no_llama_cpp and not args.ik_llama_cpp:
        sys.exit("compare_llama_cpp.py: --no-llama-cpp leaves no peer; give --ik-llama-cpp BIN")
    if args.no_llama_cpp:
        args.no_faithfulness = True

    subprocess.run([str(ROOT / "scripts" / "fetch_model.sh")], check=True)
    subprocess.run([str(ROOT / "scripts" / "build.sh"), "release"], check=True, stdout=subprocess.DEVNULL)
    bin_dir = None if args.no_llama_cpp else pathlib.Path(
        run([str(ROOT / "scripts" / "build_llama_cpp.sh"), "--quantize", str(DEFAULT_MODEL)]).strip().splitlines()[-1])
    labels = ["Q4_1"] if args.quick else args.models.split(",")
    for label in labels:
        if label.endswith(".gguf"):
            if not pathlib.Path(label).is_file():
                sys.exit(f"compare_llama_cpp.py: no such file {label}")
        elif label != "Q4_1" and (label not in COPIES or args.no_llama_cpp):
            copies = "" if args.no_llama_cpp else f", {', '.join(COPIES)}"
            sys.exit(f"compare_llama_cpp.py: unknown model {label} (Q4_1{copies} or a .gguf path)")
    models = [(pathlib.Path(label).stem, model_path(bin_dir, label)) for label in labels]
    tests = SINGLE + BATCHED
    if args.tests:
        names = args.tests.split(",")
        unknown = [n for n in names if n not in [t[0] for t in tests]]
        if unknown:
            sys.exit(f"compare_llama_cpp.py: unknown test {unknown[0]}")
        tests = [t for t in tests if t[0] in names]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")

    rows, share = [], None
    for label, model in ([] if args.no_speed else models):
        for test in tests:
            llama_fn = llama_batched if test[4] > 1 else llama_single
            ik_fn = ik_batched if test[4] > 1 else ik_single
            ours, theirs, ik = [], [], []
            for rep in range(args.reps):
                progress(f"{label} {test[0]}: repetition {rep + 1}/{args.reps}")
                if bin_dir:
                    theirs.append(llama_fn(bin_dir, model, test, args.threads))
                if args.ik_llama_cpp:
                    ik.append(ik_fn(args.ik_llama_cpp, model, test, args.threads))
                ts, result = kvscope(model, test, args.threads, args.precision)
                ours.append(ts)
                if label == "Q4_1" and test[0] == "tg128":
                    share = result["bandwidth_share"]
            row = {"model": label, "test": test[0], "kvscope_ts": statistics.median(ours), "kvscope_samples": ours}
            if theirs:
                row.update({"llama_cpp_ts": statistics.median(theirs), "llama_cpp_samples": theirs})
            if ik:
                row.update({"ik_llama_cpp_ts": statistics.median(ik), "ik_llama_cpp_samples": ik})
            rows.append(row)
    progress("")
    peers = [p for p, on in (("llama.cpp (llama-cpp-python's vendored llama.cpp)", bin_dir),
                             ("ik_llama.cpp", args.ik_llama_cpp)) if on]
    print(f"kvscope vs {' and '.join(peers)}, {cpu}, {args.threads} threads, "
          f"f16 KV cache, kvscope's {args.precision} precision, median of {args.reps} alternated repetitions\n")
    columns = [(key, name) for key, name, on in (("llama_cpp_ts", "llama.cpp", bin_dir),
                                                 ("ik_llama_cpp_ts", "ik_llama.cpp", args.ik_llama_cpp)) if on]
    print("| model | test |" + "".join(f" {name} t/s |" for _, name in columns) + " kvscope t/s |"
          + "".join(f" vs {name} |" for _, name in columns))
    print("| --- | --- |" + " ---: |" * (2 * len(columns) + 1))
    for r in rows:
        print(f"| {r['model']} | {r['test']} |" + "".join(f" {r[key]:.1f} |" for key, _ in columns)
              + f" {r['kvscope_ts']:.1f} |" + "".join(f" {r['kvscope_ts'] / r[key]:.2f}× |" for key, _ in columns))
    if share is not None:
        print(f"\nQ4_1 tg128 reads {100 * share:.0f}% of the measured memory read bandwidth.")
    faithfulness = None
    if not args.no_faithfulness:
        faithfulness = []
        cases = [c for c in FAITHFULNESS if "Q4_1" in labels] + [(m, "f16") for m in labels if m in OWN_F32]
        for weights, kv_type in cases:
            progress(f"faithfulness: {weights} weights, {kv_type} KV cache")
            faithfulness.append({"weights": weights, "kv_type": kv_type,
                                 "llama_cpp": llama_faithfulness(bin_dir, args.threads, weights, kv_type),
                                 "kvscope": kvscope_faithfulness(bin_dir, args.threads, weights, kv_type)})
        progress("")
        print(f"\nFaithfulness on {TEXT.name}, {CHUNKS} chunks of 512 tokens (second halves compared), each "
              "against the F32 weights with an f32 KV cache (llama.cpp: its own F32 run; kvscope: its "
              "exact path; the BF16 and K-quant copies against F32 copies of themselves):\n")
        print("| weights | KV cache | llama.cpp same top-1 | llama.cpp mean KL | kvscope same top-1 | "
              "kvscope mean KL |\n| --- | --- | ---: | ---: | ---: | ---: |")
        for f in faithfulness:
            print(f"| {f['weights']} | {f['kv_type']} | {100 * f['llama_cpp']['same_top1']:.2f}% | "
                  f"{f['llama_cpp']['mean_kl']:.6f} | {100 * f['kvscope']['same_top1']:.2f}% | "
                  f"{f['kvscope']['mean_kl']:.6f} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"cpu": cpu, "threads": args.threads, "rows": rows,
                                                       "faithfulness": faithfulness}, indent=2))


if __name__ == "__main__":
    main()
