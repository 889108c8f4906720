#!/usr/bin/env python3
"""Makes a 1B-class GGUF for speed comparisons: Llama-3.2-1B's shapes with random weights.

Speed does not depend on the weights' values, only on their shapes and storage types, so a model
with Llama 3.2 1B's configuration (16 blocks of width 2048, 32 query heads over 8 K/V heads of 64,
a feed-forward of 8192, a tied 128256-token head, Llama 3's RoPE scaling) and random weights
measures what the real file would, where the weights are ten times the default model's. transformers
builds it (fixed seed, BF16), llama.cpp's own convert_hf_to_gguf.py writes the GGUF (the tiny
Qwen 2-style tokenizer of scripts/make_model_goldens.py, padded by the converter to 128256 ids),
and llama-quantize makes the Q4_1, Q8_0 and Q4_K_M copies. Nothing is downloaded but llama.cpp's
source from PyPI (scripts/build_llama_cpp.sh). Needs torch, transformers, tokenizers, gguf and
sentencepiece (the converter imports it) from PyPI; about 8 GB of memory and 5 GB of disk.

    python3 scripts/make_1b_model.py [--out DIR] [--types Q4_1,Q8_0,Q4_K_M]

Writes DIR/Llama-3.2-1B-shapes.{BF16,Q4_1,...}.gguf (default DIR: ~/.cache/kvscope/models, next to
the default model's copies) and prints their paths; files already there are kept. Compare them with
    python3 scripts/compare_llama_cpp.py --models DIR/Llama-3.2-1B-shapes.Q4_1.gguf,...
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_model_goldens as goldens  # noqa: E402  (the tokenizer, folder and converter helpers)

NAME = "Llama-3.2-1B-shapes"
SEED = 1234


def llama_3_2_1b(vocab_size: int, eos: int) -> LlamaForCausalLM:
    """Llama 3.2 1B's config.json, with random weights stored as BF16."""
    config = LlamaConfig(
        hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, head_dim=64, vocab_size=vocab_size, max_position_embeddings=131072,
        rms_norm_eps=1e-5, tie_word_embeddings=True, bos_token_id=eos, eos_token_id=eos,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192},
        torch_dtype="bfloat16")
    torch.manual_seed(SEED)
    torch.set_default_dtype(torch.bfloat16)  # 2.5 GB of weights rather than 5
    try:
        return LlamaForCausalLM(config).eval()
    finally:
        torch.set_default_dtype(torch.float32)


def run(cmd: list[str]) -> None:
    """Runs cmd quietly; on failure, shows the end of its output and stops."""
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if out.returncode != 0:
        sys.exit(f"make_1b_model: {Path(cmd[0]).name} failed:\n{out.stdout[-3000:]}")


def progress(text: str) -> None:
    print(f"make_1b_model: {text}", file=sys.stderr, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache" / "kvscope" / "models")
    ap.add_argument("--types", default="Q4_1,Q8_0,Q4_K_M", help="llama-quantize types, comma-separated")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    bf16 = args.out / f"{NAME}.BF16.gguf"
    if not bf16.exists():
        tok = goldens.qwen2_tokenizer()
        eos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|im_end|>")
        progress("building the model with transformers (random BF16 weights) ...")
        model = llama_3_2_1b(128256, eos)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / NAME
            goldens.save_hf(model, folder, tok, {"eos_token": "<|im_end|>", "add_bos_token": False,
                                                 "tokenizer_class": "PreTrainedTokenizerFast"}, {})
            del model
            progress(f"converting with llama.cpp's convert_hf_to_gguf.py to {bf16} ...")
            partial = bf16.with_suffix(".partial")
            run([sys.executable, "-c", goldens.CONVERT, str(goldens.llama_cpp_source()), str(folder),
                 str(partial), "bf16"])
            partial.rename(bf16)
    print(bf16)

    bin_dir = Path(subprocess.run([str(goldens.ROOT / "scripts" / "build_llama_cpp.sh")], check=True,
                                  stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1])
    for qtype in args.types.split(","):
        out = args.out / f"{NAME}.{qtype}.gguf"
        if not out.exists():
            progress(f"llama-quantize to {qtype} ...")
            partial = out.with_suffix(".partial")
            run([str(bin_dir / "llama-quantize"), str(bf16), str(partial), qtype])
            partial.rename(out)
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
