#!/usr/bin/env python3
"""Reference figures for the default model, from transformers loading the same GGUF file
(it dequantizes every tensor to f32), for tests/models/default_model_test.cpp:
  - teacher-forced logits over a fixed text: at every position, the top-1 token and the
    TOP_LOGITS largest logits with their ids;
  - greedy continuations of a handful of prompts.
Token ids are stored, so the C++ test does not depend on the tokenizer.

Usage: python3 scripts/make_default_model_goldens.py [MODEL.gguf]
Needs torch, transformers, accelerate and gguf from PyPI."""
import json
import pathlib
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = ROOT / "tests" / "fixtures" / "default_model" / "goldens.json"

TEXT = (
    "The history of the bicycle is a story of many small improvements. Early machines had no pedals: "
    "riders pushed themselves along with their feet. Later designs put cranks on the front wheel, which "
    "grew larger and larger so that one turn of the pedals carried the rider further. These high wheelers "
    "were fast but dangerous, and a fall from one could be serious. The safety bicycle, with two wheels of "
    "equal size and a chain driving the rear wheel, changed everything. Pneumatic tyres made the ride "
    "smoother, and within a few years cycling clubs had appeared in many cities. Women in particular found "
    "a new freedom of movement, and the bicycle became a symbol of independence. Today there are more "
    "bicycles in the world than cars, and engineers still argue about the best frame geometry, the ideal "
    "tyre pressure and whether a bell counts as safety equipment. In 1885, a rider could buy a safety "
    "bicycle for about 20 pounds; by 1900 the price had fallen to less than half of that. Numbers such as "
    "3.14, 42 and 1,000,000 appear in texts too, as do lists: apples, pears, plums; and code like x = y + 1."
)
PROMPTS = [
    "The capital of France is",
    "Once upon a time, there was a little",
    "def fibonacci(n):",
    "The three primary colors are",
    "Water boils at a temperature of",
]
CHAT_PROMPTS = ["What is 2 plus 3?", "What color is the sky?"]
TOP_LOGITS = 32
NEW_TOKENS = 32


def main():
    tok = AutoTokenizer.from_pretrained(MODEL.parent, gguf_file=MODEL.name)
    model = AutoModelForCausalLM.from_pretrained(MODEL.parent, gguf_file=MODEL.name, dtype=torch.float32)
    model.eval()
    ids = tok(TEXT, add_special_tokens=False).input_ids
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    out = {
        "model": MODEL.name,
        "reference": "transformers loading the GGUF (weights dequantized to f32), float32 on the CPU",
        "text_ids": ids,
        "text_top1": logits.argmax(-1).tolist(),
        "top_ids": [],
        "top_logits": [],
        "greedy": [],
    }
    top = logits.topk(TOP_LOGITS, dim=-1)
    out["top_ids"] = top.indices.tolist()
    out["top_logits"] = [[round(v, 5) for v in row] for row in top.values.tolist()]
    prompts = [(p, tok(p, add_special_tokens=False).input_ids) for p in PROMPTS]
    for p in CHAT_PROMPTS:
        text = tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        prompts.append((text, tok(text, add_special_tokens=False).input_ids))
    for text, prompt_ids in prompts:
        with torch.no_grad():
            gen = model.generate(torch.tensor([prompt_ids]), max_new_tokens=NEW_TOKENS, do_sample=False,
                                 attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long))
        new = gen[0, len(prompt_ids):].tolist()
        out["greedy"].append({"prompt": text, "prompt_ids": prompt_ids, "output_ids": new})
        print(repr(text[-40:]), "->", repr(tok.decode(new)))
    OUT.write_text(json.dumps(out))
    print(f"{len(ids)} text tokens; wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
