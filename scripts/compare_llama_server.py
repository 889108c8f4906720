#!/usr/bin/env python3
"""kvscope serve beside llama.cpp's llama-server, driven by `kvscope bench serve` in one run.

Both servers load the default model with the same threads, parallel sequences (the largest
concurrency) and an f16 KV cache; llama-server with flash attention and one unified KV buffer,
kvscope serve with its paged pool. For each repetition and concurrency the same prompts (random
tokens, --input-len in, --output-len out, the end token ignored) go to each server in turn.
Then kvscope against itself: one stream's TPOT beside `kvscope bench speed` decoding one
sequence offline at the prompt's depth, and C streams' output throughput beside a closed batch
of C prompts prefilled and decoded offline (`bench speed -pg IN,OUT -npl C`); and prefix reuse
through the server: requests sharing a --prefix-len system prompt, one at a time, to kvscope
serve without and with --prefix-cache.

Each bench serve result is kept in --out (default logs/compare-llama-server), and
`kvscope report` draws them there: throughput and p99 TTFT against concurrency, a line a server.

Usage: python3 scripts/compare_llama_server.py [--concurrency 1,8,32] [--reps 1] [--threads 2]
                                               [--out DIR] [--json out.json]"""
import argparse
import contextlib
import json
import pathlib
import socket
import statistics
import subprocess
import time
import urllib.request

from compare_llama_cpp import DEFAULT_MODEL, KVSCOPE, ROOT, progress, run


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(cmd, port):
    """Runs a server until the block ends; yields its base URL once /health answers 200."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise SystemExit(f"compare_llama_server: {cmd[0]} exited with {proc.returncode}")
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(url + "/health", timeout=1).status == 200:
                    break
            time.sleep(0.1)
        else:
            raise SystemExit(f"compare_llama_server: {cmd[0]} did not become healthy")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_serve(url, label, out, concurrency, prompts, input_len, output_len, seed, prefix_len=0):
    """Runs kvscope bench serve, its JSON written to `out`; returns the figures compared."""
    run([str(KVSCOPE), "bench", "serve", "--base-url", url, "--label", label,
         "--num-prompts", str(prompts), "--max-concurrency", str(concurrency),
         "--random-input-len", str(input_len), "--random-output-len", str(output_len),
         "--random-prefix-len", str(prefix_len), "--ignore-eos", "--seed", str(seed),
         "--json", str(out), "--no-log"])
    r = json.loads(out.read_text())
    if r["failed"]:
        raise SystemExit(f"compare_llama_server: {r['failed']} requests failed at {url}: {r['errors']}")
    return {k: r[k] for k in ("output_throughput", "median_ttft_ms", "p99_ttft_ms", "median_tpot_ms",
                              "mean_tpot_ms")}


def offline(batch, input_len, output_len, threads):
    """kvscope's engine offline on the same shapes, the mean of 3 as llama-bench reports it: for
    one sequence its decode TPOT in ms at the prompt's depth; for a batch, the output tokens/s
    of a closed batch that prefills `batch` prompts and then decodes them together
    (llama-batched-bench's test)."""
    args = [str(KVSCOPE), "bench", "speed", "-t", str(threads), "-r", "3", "-ctk", "f16", "-ctv",
            "f16", "-o", "json"]
    if batch == 1:
        record = json.loads(run(args + ["-p", "0", "-n", str(output_len), "-d", str(input_len)]))[0]
        return 1000 / record["avg_ts"]
    record = json.loads(run(args + ["-p", "0", "-n", "0", "-pg", f"{input_len},{output_len}",
                                    "-npl", str(batch)]))[0]
    return batch * output_len / (record["avg_ns"] / 1e9)


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", default="1,8,32")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--input-len", type=int, default=512)
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--prefix-len", type=int, default=1024)
    ap.add_argument("--prefix-requests", type=int, default=32)
    ap.add_argument("--out", default=str(ROOT / "logs" / "compare-llama-server"),
                    help="folder for each bench serve result and the charts")
    ap.add_argument("--json", help="also write the measurements here")
    args = ap.parse_args()
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    levels = [int(c) for c in args.concurrency.split(",")]
    # 16 prompts at least, twice the concurrency above that: every level runs more than one wave.
    prompts = {c: max(16, 2 * c) for c in levels}

    subprocess.run([str(ROOT / "scripts" / "fetch_model.sh")], check=True)
    subprocess.run([str(ROOT / "scripts" / "build.sh"), "release"], check=True, stdout=subprocess.DEVNULL)
    bin_dir = pathlib.Path(run([str(ROOT / "scripts" / "build_llama_cpp.sh")]).strip().splitlines()[-1])
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    slots, per_seq = max(levels), args.input_len + args.output_len + 64
    llama_port, kvscope_port = free_port(), free_port()
    llama_cmd = [str(bin_dir / "llama-server"), "-m", str(DEFAULT_MODEL), "--host", "127.0.0.1",
                 "--port", str(llama_port), "-t", str(args.threads), "-np", str(slots), "-kvu",
                 "-c", str(slots * per_seq), "-fa", "on", "-ctk", "f16", "-ctv", "f16", "--no-webui"]
    f16_row = json.loads(run([str(KVSCOPE), "inspect", str(DEFAULT_MODEL), "--json"]))["kv_bytes_per_token"]["f16"]
    kv_mib = int(slots * per_seq * f16_row) // (1 << 20) + 64
    kvscope_cmd = [str(KVSCOPE), "serve", "-m", str(DEFAULT_MODEL), "--port", str(kvscope_port),
                   "-t", str(args.threads), "--max-seqs", str(slots), "--kv-type", "f16",
                   "--kv-cache-mib", str(kv_mib), "--max-queue", str(4 * slots)]

    runs = {(name, c): [] for name in ("llama-server", "kvscope") for c in levels}
    with server(llama_cmd, llama_port) as llama_url, server(kvscope_cmd, kvscope_port) as kvscope_url:
        for rep in range(args.reps):
            for c in levels:
                for name, url in (("llama-server", llama_url), ("kvscope", kvscope_url)):
                    progress(f"{name}, concurrency {c}: repetition {rep + 1}/{args.reps}")
                    out = out_dir / f"{name}-c{c}-r{rep + 1}.json"
                    # Prompts of their own at each level and repetition: llama-server keeps
                    # each slot's last prompt and would otherwise reuse one sent before.
                    runs[(name, c)].append(bench_serve(url, name, out, c, prompts[c], args.input_len,
                                                       args.output_len, seed=1000 * rep + c))
    offline_figure = {}
    for c in levels:
        progress(f"kvscope bench speed: {c} sequences, {args.input_len} in / {args.output_len} out")
        offline_figure[c] = offline(c, args.input_len, args.output_len, args.threads)
    prefix = {}
    for reuse in (False, True):
        port = free_port()
        cmd = [str(KVSCOPE), "serve", "-m", str(DEFAULT_MODEL), "--port", str(port), "-t", str(args.threads),
               "--kv-type", "f16"] + (["--prefix-cache"] if reuse else [])
        progress(f"prefix reuse {'on' if reuse else 'off'}: {args.prefix_requests} requests")
        with server(cmd, port) as url:
            label = f"kvscope, prefix cache {'on' if reuse else 'off'}"
            prefix[reuse] = bench_serve(url, label, out_dir / f"prefix-{'on' if reuse else 'off'}.json",
                                        1, args.prefix_requests, 64, 16, seed=0,
                                        prefix_len=args.prefix_len)
    progress("")
    run([str(KVSCOPE), "report", *map(str, sorted(out_dir.glob("*-c*-r*.json"))),
         "--out-dir", str(out_dir)])

    print(f"kvscope serve vs llama-server (llama-cpp-python's vendored llama.cpp), {cpu}, {args.threads} "
          f"threads, {slots} parallel sequences, f16 KV cache; `kvscope bench serve` random "
          f"{args.input_len} in / {args.output_len} out, end token ignored; median of {args.reps}\n")
    print("| concurrency | prompts | server | output tok/s | TTFT median | TTFT p99 | TPOT median |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for c in levels:
        for name in ("llama-server", "kvscope"):
            r = runs[(name, c)]
            print(f"| {c} | {prompts[c]} | {name} | {median_of(r, 'output_throughput'):.1f} | "
                  f"{median_of(r, 'median_ttft_ms'):.0f} ms | {median_of(r, 'p99_ttft_ms'):.0f} ms | "
                  f"{median_of(r, 'median_tpot_ms'):.1f} ms |")
    print("\n| concurrency | output tok/s, kvscope / llama-server | p99 TTFT, kvscope / llama-server |")
    print("| ---: | ---: | ---: |")
    for c in levels:
        ours, theirs = runs[("kvscope", c)], runs[("llama-server", c)]
        print(f"| {c} | {median_of(ours, 'output_throughput') / median_of(theirs, 'output_throughput'):.2f}× | "
              f"{median_of(ours, 'p99_ttft_ms') / median_of(theirs, 'p99_ttft_ms'):.2f}× |")
    print(f"\nkvscope serve against kvscope offline: one stream's median TPOT against decode at depth "
          f"{args.input_len} (`kvscope bench speed -p 0 -n {args.output_len} -d {args.input_len}`), and "
          f"C streams' output tokens/s against a closed batch of C (`kvscope bench speed -p 0 -n 0 "
          f"-pg {args.input_len},{args.output_len} -npl C`: C × {args.output_len} / its time)\n")
    print("| concurrency | figure | served | offline | served / offline |")
    print("| ---: | --- | ---: | ---: | ---: |")
    served = {}
    for c in levels:
        if c == 1:
            served[c] = median_of(runs[("kvscope", c)], "median_tpot_ms")
            figure, unit = "TPOT", " ms"
        else:
            served[c] = median_of(runs[("kvscope", c)], "output_throughput")
            figure, unit = "output tok/s", ""
        print(f"| {c} | {figure} | {served[c]:.1f}{unit} | {offline_figure[c]:.1f}{unit} | "
              f"{served[c] / offline_figure[c]:.2f}× |")
    print(f"\nPrefix reuse through kvscope serve: {args.prefix_requests} requests, one at a time, sharing "
          f"{args.prefix_len} tokens plus 64 of their own, 16 out: median TTFT "
          f"{prefix[False]['median_ttft_ms']:.0f} ms without --prefix-cache, "
          f"{prefix[True]['median_ttft_ms']:.0f} ms with it "
          f"({prefix[True]['median_ttft_ms'] / prefix[False]['median_ttft_ms']:.3f}×)")
    print(f"\nEach bench serve result and the charts (serve_throughput.png, serve_ttft.png) are in {out_dir}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({
            "cpu": cpu, "threads": args.threads, "prompts": prompts,
            "runs": {f"{n}@{c}": r for (n, c), r in runs.items()},
            "offline": offline_figure, "served": served, "prefix": {"off": prefix[False], "on": prefix[True]}}, indent=2))


if __name__ == "__main__":
    main()
