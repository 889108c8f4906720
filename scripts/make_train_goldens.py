#!/usr/bin/env python3
"""Makes the training fixtures under tests/fixtures/train/ with torch and transformers.

grads.safetensors: a tiny random Llama (grouped KV heads, untied head), a batch of token ids and
targets (-1: not counted), the loss, every parameter's gradient as torch autograd computes it
(prefix "grad."), the logits transformers computes ("logits"), and the parameters after three
AdamW steps on that batch with gradient clipping ("adamw."), as kvscope's trainer takes them.

With --checkpoint DIR (a folder that `kvscope train` wrote), also loads it with transformers'
AutoModelForCausalLM and AutoTokenizer and writes checkpoint_logits.safetensors: the logits of
the ids transformers' tokenizer gives for CHECKPOINT_TEXT, and those ids.

Needs torch, transformers and safetensors (PyPI). Run from anywhere:
    python3 scripts/make_train_goldens.py [--checkpoint tests/fixtures/train/tiny_checkpoint]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "train"

CONFIG = dict(vocab_size=37, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16,
              rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
BATCH, SEQ = 2, 7
LRS = (1e-2, 5e-3, 2e-3)  # the learning rate of each AdamW step
ADAMW = dict(betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
MAX_NORM = 1.0
CHECKPOINT_TEXT = "<|im_start|>user\nWhat color is the sky?<|im_end|>\n<|im_start|>assistant\n"


def tiny_model() -> LlamaForCausalLM:
    torch.manual_seed(17)
    model = LlamaForCausalLM(LlamaConfig(**CONFIG, attn_implementation="eager")).float()
    with torch.no_grad():  # moderate random weights, so that every gradient is well away from 0
        for name, p in model.named_parameters():
            p.copy_(1.0 + 0.1 * torch.randn_like(p) if p.dim() == 1 else 0.3 * torch.randn_like(p))
    return model


def loss_of(model, tokens, targets):
    logits = model(input_ids=tokens).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CONFIG["vocab_size"]),
                                             targets.reshape(-1), ignore_index=-1)
    return loss, logits


def make_grads() -> None:
    model = tiny_model()
    g = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, CONFIG["vocab_size"], (BATCH, SEQ), generator=g)
    targets = torch.randint(0, CONFIG["vocab_size"], (BATCH, SEQ), generator=g)
    targets[1, 2] = -1
    tensors = {name: p.detach().clone() for name, p in model.named_parameters()}
    loss, logits = loss_of(model, tokens, targets)
    loss.backward()
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().clone()
    tensors["logits"] = logits.detach().clone()
    tensors["loss"] = loss.detach().reshape(1)
    tensors["tokens"] = tokens.float()  # small integers, exact in f32 (kvscope reads F32 tensors)
    tensors["targets"] = targets.float()

    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LRS[0], **ADAMW)
    for lr in LRS:
        opt.zero_grad()
        loss_of(model, tokens, targets)[0].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
    for name, p in model.named_parameters():
        tensors["adamw." + name] = p.detach().clone()
    save_file({k: v.contiguous() for k, v in tensors.items()}, OUT / "grads.safetensors",
              metadata={"config": json.dumps(CONFIG), "lrs": json.dumps(LRS),
                        "adamw": json.dumps(ADAMW), "max_norm": str(MAX_NORM)})


def checkpoint_logits(folder: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = tokenizer(CHECKPOINT_TEXT, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0]
    save_file({"ids": ids[0].float().contiguous(), "logits": logits.contiguous()},
              OUT / "checkpoint_logits.safetensors", metadata={"text": CHECKPOINT_TEXT})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="a folder kvscope train wrote")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    make_grads()
    if args.checkpoint:
        checkpoint_logits(args.checkpoint)


if __name__ == "__main__":
    main()
