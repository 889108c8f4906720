#!/usr/bin/env python3
"""Training speed of kvscope train beside PyTorch on the CPU, same model, batch, sequence length
and threads, run alternately (kvscope, torch, kvscope, torch, ...).

kvscope: one epoch of `kvscope train` on the TinyBot dataset; its train_log.json gives each
step's tokens/s (batch × sequence positions per second of forward, backward, clipping and AdamW).
torch: LlamaForCausalLM (eager attention, f32) of the checkpoint's config.json on random ids of the
same shape, each step forward, cross-entropy, backward, clip_grad_norm_ and torch.optim.AdamW
(weight decay on matrices), timed the same way. Both report the median step after the first 3.

Needs torch and transformers (PyPI) and a release build:
    python3 scripts/compare_train_torch.py [--reps 3] [--threads 2] [--batch 8] [--ctx 64]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent
KVSCOPE = ROOT / "build" / "release" / "tools" / "kvscope" / "kvscope"


def kvscope_run(args, out: Path) -> tuple[float, dict]:
    cmd = [str(KVSCOPE), "train", "--epochs", "1", "--eval-every", "1000", "--batch", str(args.batch),
           "--ctx", str(args.ctx), "-t", str(args.threads), "-n", "4", "--out", str(out)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    log = json.loads((out / "train_log.json").read_text())
    speeds = [s["tokens_per_s"] for s in log["steps"]][3:]
    return statistics.median(speeds), json.loads((out / "final" / "config.json").read_text())


def torch_run(args, config: dict, steps: int) -> float:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    keep = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta",
            "tie_word_embeddings", "head_dim")
    model = LlamaForCausalLM(LlamaConfig(**{k: config[k] for k in keep}, attn_implementation="eager"))
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay}, {"params": other, "weight_decay": 0.0}], lr=3e-3,
                            betas=(0.9, 0.95), weight_decay=0.1)
    ids = torch.randint(0, config["vocab_size"], (args.batch, args.ctx + 1))
    speeds = []
    for _ in range(steps):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=ids[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, config["vocab_size"]), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        speeds.append(args.batch * args.ctx / (time.perf_counter() - start))
    return statistics.median(speeds[3:])


def torch_in_fresh_process(args, config: dict) -> float:
    """Each torch run in its own interpreter, as each kvscope run is its own process."""
    cmd = [sys.executable, __file__, "--torch-only", json.dumps(config), "--threads", str(args.threads),
           "--batch", str(args.batch), "--ctx", str(args.ctx), "--torch-steps", str(args.torch_steps)]
    return float(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--ctx", type=int, default=64)
    parser.add_argument("--torch-steps", type=int, default=30)
    parser.add_argument("--torch-only", help=argparse.SUPPRESS)  # a config.json: one torch run
    args = parser.parse_args()
    if args.torch_only:
        print(torch_run(args, json.loads(args.torch_only), args.torch_steps))
        return
    mine, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            speed, config = kvscope_run(args, Path(tmp) / f"run{rep}")
            mine.append(speed)
            theirs.append(torch_in_fresh_process(args, config))
            print(f"rep {rep + 1}: kvscope {mine[-1]:.0f} tok/s, torch {theirs[-1]:.0f} tok/s", flush=True)
    k, t = statistics.median(mine), statistics.median(theirs)
    print(f"\n| batch × ctx | threads | torch {torch.__version__} tok/s | kvscope tok/s | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| {args.batch} × {args.ctx} | {args.threads} | {t:.0f} | {k:.0f} | **{k / t:.2f}×** |")


if __name__ == "__main__":
    main()
