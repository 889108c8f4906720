#!/usr/bin/env python3
"""Makes the tiny-model fixtures under tests/fixtures/models/ and tests/fixtures/dequant/.

With fixed seeds it builds three tiny tokenizers and three tiny models with transformers, saves
each model as a Hugging Face folder and as GGUF files laid out the way llama.cpp's
convert_hf_to_gguf.py lays them out, and records the reference logits and greedy continuations
that torch computes (on the dequantized weights for the quantized GGUF variants). It also records
what gguf-py's dequantizers make of a few blocks of every storage type kvscope reads.

Needs torch, transformers, tokenizers, safetensors, numpy and gguf (gguf-py). Run from anywhere:
    python3 scripts/make_model_goldens.py
    python3 scripts/make_model_goldens.py --long-context   # only the 4,096-position fixture
The formats are documented in tests/fixtures/models/README.md.
"""
from __future__ import annotations

import copy
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import gguf
from gguf import GGMLQuantizationType as Q
from tokenizers import Tokenizer, Regex, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers.trainers import BpeTrainer
from transformers import (Gemma3ForCausalLM, Gemma3TextConfig, GPT2Config, GPT2LMHeadModel,
                          LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Phi3Config, Phi3ForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)
from transformers.utils import logging as hf_logging

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "fixtures" / "models"
DEQUANT = ROOT / "tests" / "fixtures" / "dequant"

PROMPT_LENGTHS = (1, 7, 23)
GREEDY_TOKENS = 16

# A corpus for the tiny tokenizers: only the merges it teaches matter, not its content.
CORPUS = """\
The quick brown fox jumps over the lazy dog. A key-value cache keeps the keys and values of
every past position, so that each new token attends to them without recomputing the prefix.
Prefill runs the prompt through the model in one pass; decode then adds one token at a time.
Numbers such as 12345, 2024 and 3.14159 appear in text too, as do words like don't and we'll.
Tokenizers split text into pieces; byte-level BPE never meets an unknown character.
The model reads the tokens, the attention heads look back, and the logits pick the next token.
""" * 4

GPT2_REGEX = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"""
                r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")

QWEN2_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
               r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] "
    "+ '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}")

LLAMA3_CHAT_TEMPLATE = (
    "{{- bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}")
LLAMA2_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}"
    "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}"
    "{% endif %}{% endfor %}")


# ------------------------------------------------------------------------------------------------
# Tokenizers


def train(tok: Tokenizer, vocab_size: int, special: list[str], alphabet: list[str]) -> None:
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=special, initial_alphabet=alphabet,
                         show_progress=False)
    tok.train_from_iterator(CORPUS.splitlines(), trainer=trainer)


def gpt2_tokenizer() -> dict:
    """GPT-2 style: ByteLevel with its built-in regex, <|endoftext|> special."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tok, 320, ["<|endoftext|>"], pre_tokenizers.ByteLevel.alphabet())
    return json.loads(tok.to_str())


def llama3_tokenizer() -> dict:
    """Llama 3 style: a Split regex then ByteLevel without regex, header specials, BOS template,
    and one non-special added token (user-defined in GGUF)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    special = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
               "<|eot_id|>"]
    train(tok, 330, special, pre_tokenizers.ByteLevel.alphabet())
    tok.add_tokens(["kvscope\u2581cache"])  # a user-defined token; "▁" becomes " " in GGUF
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])
    return json.loads(tok.to_str())


def qwen2_tokenizer() -> dict:
    """Qwen 2 style: Qwen 2's Split regex (digits one by one) then ByteLevel without regex, the
    ChatML specials, no BOS."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tok, 330, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
          pre_tokenizers.ByteLevel.alphabet())
    return json.loads(tok.to_str())


def llama2_tokenizer() -> dict:
    """Llama 2 style (SentencePiece BPE as Hugging Face converts it): byte fallback, ▁ for spaces
    through a Prepend + Replace normalizer, <unk> <s> </s> then the 256 <0xNN> byte tokens."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"),
                                           normalizers.Replace(" ", "\u2581")])
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    alphabet = sorted(set(CORPUS.replace(" ", "\u2581").replace("\n", "")))
    # Trained word by word, as SentencePiece does; used with the normalizer alone afterwards.
    normalizer = tok.normalizer
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always",
                                                 split=True)
    train(tok, 400, ["<unk>", "<s>", "</s>"] + byte_tokens, alphabet)
    tok.normalizer = normalizer
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    data = json.loads(tok.to_str())
    # Llama 2's tokenizer.json lists only <unk> <s> </s> as added tokens; the byte tokens are
    # ordinary vocabulary entries.
    data["added_tokens"] = [a for a in data["added_tokens"] if not a["content"].startswith("<0x")]
    data["pre_tokenizer"] = None
    return data


def vocab_entries(tok: dict) -> tuple[dict[int, str], dict[int, bool]]:
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    added = {}
    for a in tok["added_tokens"]:
        by_id[a["id"]] = a["content"]
        added[a["id"]] = a["special"]
    return by_id, added


def does_token_look_special(t: str) -> bool:  # convert_hf_to_gguf.py's
    return (t in ("<pad>", "<mask>", "<2mass>", "[@BOS@]") or (t.startswith("<|") and t.endswith("|>"))
            or (t.startswith("<\uff5c") and t.endswith("\uff5c>"))
            or (t.startswith("<unused") and t.endswith(">")))


def pre_name(pre: dict) -> str:
    if pre["type"] == "ByteLevel" and pre.get("use_regex", True):
        return "gpt2"
    if pre["type"] == "Sequence":
        parts = pre["pretokenizers"]
        if (len(parts) == 2 and parts[0]["type"] == "Split" and parts[1]["type"] == "ByteLevel"
                and not parts[1].get("use_regex", True)):
            regex = parts[0]["pattern"].get("Regex")
            if regex == LLAMA3_REGEX:
                return "llama-bpe"
            if regex == GPT2_REGEX:
                return "gpt2"
    raise ValueError(f"unknown pre-tokenizer {pre}")


def tokenizer_metadata(folder: Path, tok: dict, n_vocab: int) -> list[tuple[str, object]]:
    """The tokenizer.ggml.* entries convert_hf_to_gguf.py writes (for a SentencePiece-style
    tokenizer.json without tokenizer.model: scores are minus the rank of the first merge that
    makes a token, a documented approximation; llama.cpp's LlamaHfVocab writes -1000 for all)."""
    by_id, added = vocab_entries(tok)
    assert max(by_id) < n_vocab
    tokens, types = [], []
    spm = tok["model"].get("byte_fallback", False)
    unk = tok["model"].get("unk_token")
    for i in range(n_vocab):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        t = by_id[i]
        if spm:
            if re.fullmatch(r"<0x[0-9A-Fa-f]{2}>", t):
                types.append(gguf.TokenType.BYTE)
            elif t == unk:
                types.append(gguf.TokenType.UNKNOWN)
            elif i in added:
                types.append(gguf.TokenType.CONTROL if added[i] else gguf.TokenType.USER_DEFINED)
            else:
                types.append(gguf.TokenType.NORMAL)
        elif i in added:
            if added[i] or does_token_look_special(t):
                types.append(gguf.TokenType.CONTROL)
            else:
                t = t.replace("\u2581", " ")
                types.append(gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
        tokens.append(t)
    entries: list[tuple[str, object]] = []
    if spm:
        ids = {t: i for i, t in enumerate(tokens)}
        scores = [0.0] * n_vocab
        scored = set()
        for rank, merge in enumerate(tok["model"]["merges"]):
            a, b = merge if isinstance(merge, list) else merge.split(" ", 1)
            i = ids.get(a + b)
            if i is not None and i not in scored:
                scores[i] = -float(rank)
                scored.add(i)
        entries += [("model", "llama"), ("scores", scores), ("add_space_prefix", True)]
    else:
        entries += [("model", "gpt2"), ("pre", pre_name(tok["pre_tokenizer"]))]
    entries += [("tokens", tokens), ("token_type", [int(t) for t in types])]
    return entries


def write_tokenizer_metadata(w: gguf.GGUFWriter, folder: Path, n_vocab: int) -> None:
    tok = json.loads((folder / "tokenizer.json").read_text())
    for key, value in tokenizer_metadata(folder, tok, n_vocab):
        if key == "model":
            w.add_tokenizer_model(value)
        elif key == "pre":
            w.add_tokenizer_pre(value)
        elif key == "tokens":
            w.add_token_list(value)
        elif key == "token_type":
            w.add_token_types(value)
        elif key == "scores":
            w.add_token_scores(value)
        elif key == "add_space_prefix":
            w.add_add_space_prefix(value)
    special = gguf.SpecialVocab(folder, load_merges=True, n_vocab=n_vocab)
    special.add_to_gguf(w, quiet=True)


# ------------------------------------------------------------------------------------------------
# Models


def randomize_norms(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Transformers initializes norm weights to 1 and biases to 0, which would hide a norm or bias
    applied wrongly; make them random too."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                base = 1.0 if ("norm" in name or "ln_" in name) and name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=gen))


def make_llama(vocab_size: int, layers: int, bos: int, eos: int, seed: int, hidden: int = 64,
               ffn: int = 128, rope_scaling: dict | None = None, context: int = 256) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    rope = {"rope_type": "default", "rope_theta": 10000.0, **(rope_scaling or {})}
    config = LlamaConfig(num_hidden_layers=layers, hidden_size=hidden, intermediate_size=ffn,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=vocab_size,
                         max_position_embeddings=context, rope_parameters=rope, rms_norm_eps=1e-5,
                         tie_word_embeddings=False, initializer_range=0.1, bos_token_id=bos,
                         eos_token_id=eos)
    model = LlamaForCausalLM(config).eval()
    randomize_norms(model, torch.Generator().manual_seed(seed + 1))
    return model


def small_config(vocab_size: int, eos: int, theta: float = 1000000.0) -> dict:
    """2 blocks, a width of 64, 4 query heads over 2 K/V heads, a feed-forward width of 256 (so
    that llama-quantize stores ffn_down, 256 values a row, in K-quants)."""
    return dict(num_hidden_layers=2, hidden_size=64, intermediate_size=256, num_attention_heads=4,
                num_key_value_heads=2, vocab_size=vocab_size, max_position_embeddings=256,
                rope_parameters={"rope_type": "default", "rope_theta": theta},
                rms_norm_eps=1e-6, initializer_range=0.1, bos_token_id=eos, eos_token_id=eos)


def bf16_model(model_class, config, seed: int):
    """`model_class(config)` with random weights (norms too) of BF16 values, stored as BF16 in the
    folder and the GGUF, computed in float32."""
    torch.manual_seed(seed)
    model = model_class(config).eval()
    randomize_norms(model, torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    return model


def make_qwen(version: int, vocab_size: int, eos: int, seed: int):
    """Qwen 2 (biases on q, k, v; tied head) or Qwen 3 (per-head q/k RMSNorm, heads of 32 under a
    width of 64; untied head): GQA, a large RoPE base as the real ones have."""
    common = small_config(vocab_size, eos)
    if version == 2:
        return bf16_model(Qwen2ForCausalLM, Qwen2Config(tie_word_embeddings=True, **common), seed)
    return bf16_model(Qwen3ForCausalLM,
                      Qwen3Config(head_dim=32, tie_word_embeddings=False, **common), seed)


def make_mistral(vocab_size: int, eos: int, seed: int):
    """Mistral: Llama with a sliding window of 8 positions, so that the longer prompts and their
    continuations (up to 39 positions) attend through it; heads of 32 under a width of 64, as
    Mistral Nemo's are 128 under 5120 (and as a q8_0 KV cache needs)."""
    config = MistralConfig(sliding_window=8, head_dim=32, tie_word_embeddings=False,
                           **small_config(vocab_size, eos, theta=10000.0))
    return bf16_model(MistralForCausalLM, config, seed)


def make_phi3(vocab_size: int, eos: int, seed: int):
    """Phi-3.5: Llama with q, k, v in one projection and gate, up in another, a sliding window
    (Phi-3-mini's 2047, here 8), and longrope as Phi-3.5-mini's 128k over an original 4k, here
    1024 over 256: random short and long factors per rotary pair, and the attention factor
    sqrt(1 + ln 4 / ln 256) on cos and sin. Within the original context transformers uses the
    short factors, as llama.cpp does for a context no longer than it."""
    common = small_config(vocab_size, eos, theta=10000.0)
    gen = torch.Generator().manual_seed(seed + 2)
    common["max_position_embeddings"] = 1024
    common["rope_parameters"] = {
        "rope_type": "longrope", "rope_theta": 10000.0, "original_max_position_embeddings": 256,
        "short_factor": [round(1 + float(x), 3) for x in torch.rand(8, generator=gen)],
        "long_factor": [round(1 + 7 * float(x), 3) for x in torch.rand(8, generator=gen)]}
    config = Phi3Config(sliding_window=8, original_max_position_embeddings=256,
                        tie_word_embeddings=False, pad_token_id=eos, **common)
    return bf16_model(Phi3ForCausalLM, config, seed)


def make_gemma3(vocab_size: int, eos: int, seed: int):
    """Gemma 3 text: 6 blocks, the default pattern of 5 local (sliding window 8, RoPE base 1e4)
    then 1 global (RoPE base 1e6), heads of 32 under a width of 64 with query_pre_attn_scalar 32
    (as the 270M-12B models: their head size), GeGLU, norms before and after attention and the
    feed-forward, q/k norms, embeddings scaled by sqrt(64), a tied head, and a final logit
    soft-cap of 5 (Gemma 3's own configs have none; Gemma 2's had 30) so that it matters."""
    config = Gemma3TextConfig(
        num_hidden_layers=6, hidden_size=64, intermediate_size=256, num_attention_heads=4,
        num_key_value_heads=2, head_dim=32, query_pre_attn_scalar=32, vocab_size=vocab_size,
        max_position_embeddings=256, sliding_window=8, final_logit_softcapping=5.0,
        rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
        rms_norm_eps=1e-6, initializer_range=0.1, tie_word_embeddings=True, bos_token_id=eos,
        eos_token_id=eos, pad_token_id=eos)
    model = bf16_model(Gemma3ForCausalLM, config, seed)
    # Norm weights w (Gemma scales by 1 + w) on a grid of 1/64, so that the converter's w + 1 is
    # exact in BF16 too and the folder and the GGUF hold the same model.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(torch.round((p - 1.0) * 64) / 64)
    return model


def make_gpt2(vocab_size: int, eos: int, seed: int) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = GPT2Config(n_layer=2, n_embd=64, n_head=4, n_positions=128, vocab_size=vocab_size,
                        initializer_range=0.1, bos_token_id=eos, eos_token_id=eos)
    model = GPT2LMHeadModel(config).eval()
    randomize_norms(model, torch.Generator().manual_seed(seed + 1))
    return model


def save_hf(model, folder: Path, tok: dict, tok_config: dict | None, extra: dict[str, str],
            **save_args) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    model.save_pretrained(folder, **save_args)
    (folder / "generation_config.json").unlink(missing_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False, indent=1) + "\n")
    if tok_config is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=1) + "\n")
    for name, text in extra.items():
        (folder / name).write_text(text)


def state(model) -> dict[str, np.ndarray]:
    return {k: v.detach().float().numpy().copy() for k, v in model.state_dict().items()}


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """convert_hf_to_gguf.py's LlamaModel.permute: rotary pairs (i, i + d/2) → (2i, 2i + 1)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


LLAMA_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LLAMA_BLOCK = {
    "input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
}
GPT2_NAMES = {
    "wte.weight": "token_embd.weight", "wpe.weight": "position_embd.weight",
    "ln_f.weight": "output_norm.weight", "ln_f.bias": "output_norm.bias",
}
GPT2_BLOCK = {
    "ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output", "ln_2": "ffn_norm",
    "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down",
}


PHI3_BLOCK = {"self_attn.qkv_proj.weight": "attn_qkv.weight", "mlp.gate_up_proj.weight": "ffn_up.weight"}

GEMMA3_BLOCK = {
    "post_attention_layernorm.weight": "post_attention_norm.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight",
    "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
}

QWEN_BLOCK = {
    "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias", "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
}


def gguf_name(arch: str, hf: str) -> str | None:
    if arch in ("qwen", "phi3", "gemma3"):
        m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", hf)
        if m:
            extra = {"qwen": QWEN_BLOCK, "phi3": PHI3_BLOCK, "gemma3": GEMMA3_BLOCK}[arch]
            return f"blk.{m[1]}.{extra.get(m[2]) or LLAMA_BLOCK[m[2]]}"
        arch = "llama"
    if arch == "llama":
        if hf in LLAMA_NAMES:
            return LLAMA_NAMES[hf]
        m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", hf)
        return f"blk.{m[1]}.{LLAMA_BLOCK[m[2]]}"
    hf = hf.removeprefix("transformer.")
    if hf == "lm_head.weight":
        return None  # tied; convert writes token_embd again as output.weight instead
    if hf in GPT2_NAMES:
        return GPT2_NAMES[hf]
    m = re.fullmatch(r"h\.(\d+)\.(.+)\.(weight|bias)", hf)
    if m[2] in ("attn",):  # the attn.bias causal-mask buffer some versions save
        return None
    return f"blk.{m[1]}.{GPT2_BLOCK[m[2]]}.{m[3]}"


FILE_TYPES = {Q.F32: 0, Q.F16: 1, Q.Q4_0: 2, Q.Q4_1: 3, Q.Q8_0: 7, "Q4_K_M": 15, Q.BF16: 32}


def llama3_rope_factors(cfg) -> np.ndarray:
    """convert_hf_to_gguf.py's rope_freqs.weight for Llama 3's RoPE scaling."""
    p = cfg.rope_parameters
    dim = cfg.head_dim
    freqs = 1.0 / (p["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor, low, high = p["factor"], p.get("low_freq_factor", 1.0), p.get("high_freq_factor", 4.0)
    old = p.get("original_max_position_embeddings", 8192)
    out = []
    for freq in freqs.tolist():
        wavelen = 2 * np.pi / freq
        if wavelen < old / high:
            out.append(1.0)
        elif wavelen > old / low:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def gguf_tensors(model, arch: str) -> list[tuple[str, np.ndarray]]:
    """The tensors in GGUF names and numpy (outermost first) layout, as convert writes them."""
    cfg = model.config
    out = []
    if arch == "llama" and cfg.rope_parameters.get("rope_type") == "llama3":
        out.append(("rope_freqs.weight", llama3_rope_factors(cfg)))
    if arch == "phi3" and cfg.rope_parameters.get("rope_type") == "longrope":
        for kind in ("long", "short"):
            factors = cfg.rope_parameters[f"{kind}_factor"]
            out.append((f"rope_factors_{kind}.weight", np.array(factors, dtype=np.float32)))
    for hf, w in state(model).items():
        name = gguf_name(arch, hf)
        if name is None or (arch != "llama" and name == "output.weight" and cfg.tie_word_embeddings):
            continue
        if arch == "gemma3" and name.endswith("norm.weight"):
            w = w + 1.0  # the converter stores Gemma's 1 + w
        if arch == "llama" and name.endswith("attn_q.weight"):
            w = permute(w, cfg.num_attention_heads)
        if arch == "llama" and name.endswith("attn_k.weight"):
            w = permute(w, cfg.num_key_value_heads)
        if arch == "gpt2" and w.ndim == 2 and ".c_" in hf:
            w = np.ascontiguousarray(w.T)  # Conv1D [in, out] → [out, in]
        out.append((name, w))
        if name == "token_embd.weight" and arch == "gpt2":
            out.append(("output.weight", w))
    return out


def f16_pack(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).view(np.uint8).reshape(*x.shape, 2)


def quantize_q4_k(w: np.ndarray) -> np.ndarray:
    """A plain Q4_K quantizer (gguf-py has none): per 32-value sub-block a 6-bit scale and minimum
    under f16 d and dmin, then 4-bit values. Not llama.cpp's search for the best scales; the
    reference dequantizes these exact bytes with gguf-py, so only the layout has to be right."""
    x = w.astype(np.float32).reshape(-1, 8, 32)                   # blocks, sub-blocks, values
    lo = np.minimum(x.min(axis=2), 0.0)
    scale = (x.max(axis=2) - lo) / 15.0
    d = (scale.max(axis=1) / 63.0).astype(np.float16).astype(np.float32)
    dmin = ((-lo).max(axis=1) / 63.0).astype(np.float16).astype(np.float32)
    sc = np.clip(np.round(scale / np.where(d > 0, d, 1)[:, None]), 0, 63).astype(np.uint8)
    mn = np.clip(np.round(-lo / np.where(dmin > 0, dmin, 1)[:, None]), 0, 63).astype(np.uint8)
    step = (d[:, None] * sc)[:, :, None]
    q = np.round((x + (dmin[:, None] * mn)[:, :, None]) / np.where(step > 0, step, 1))
    q = np.clip(q, 0, 15).astype(np.uint8)
    scales = np.zeros((x.shape[0], 12), np.uint8)
    scales[:, 0:4] = sc[:, 0:4] | ((sc[:, 4:8] >> 4) << 6)
    scales[:, 4:8] = mn[:, 0:4] | ((mn[:, 4:8] >> 4) << 6)
    scales[:, 8:12] = (sc[:, 4:8] & 0x0F) | ((mn[:, 4:8] & 0x0F) << 4)
    qs = (q[:, 0::2, :] | (q[:, 1::2, :] << 4)).reshape(-1, 128)  # sub-blocks 2k, 2k+1 share bytes
    blocks = np.concatenate([f16_pack(d), f16_pack(dmin), scales, qs], axis=1)
    return blocks.reshape(w.shape[0], -1)


def quantize_q6_k(w: np.ndarray) -> np.ndarray:
    """A plain Q6_K quantizer: per 16-value sub-block a signed 8-bit scale under an f16 d, then
    6-bit values stored as 4 low bits (ql) and 2 high bits (qh)."""
    x = w.astype(np.float32).reshape(-1, 16, 16)
    scale = np.abs(x).max(axis=2) / 31.0
    d = (scale.max(axis=1) / 127.0).astype(np.float16).astype(np.float32)
    sc = np.clip(np.round(scale / np.where(d > 0, d, 1)[:, None]), 0, 127).astype(np.int8)
    step = (d[:, None] * sc)[:, :, None]
    q = np.clip(np.round(x / np.where(step != 0, step, 1)) + 32, 0, 63).astype(np.uint8)
    q = q.reshape(-1, 2, 4, 32)                                   # blocks, halves, quarters, l
    ql = np.concatenate([q[:, :, 0] & 0x0F | (q[:, :, 2] & 0x0F) << 4,
                         q[:, :, 1] & 0x0F | (q[:, :, 3] & 0x0F) << 4], axis=2)  # (n, 2, 64)
    qh = (q[:, :, 0] >> 4) | (q[:, :, 1] >> 4) << 2 | (q[:, :, 2] >> 4) << 4 | (q[:, :, 3] >> 4) << 6
    blocks = np.concatenate([ql.reshape(-1, 128), qh.reshape(-1, 64), sc.view(np.uint8),
                             f16_pack(d)], axis=1)
    return blocks.reshape(w.shape[0], -1)


def store(w: np.ndarray, qtype: Q) -> np.ndarray:
    """The array GGUFWriter stores for `w` under `qtype` (1-D tensors stay F32, as convert keeps
    norms and biases)."""
    if w.ndim == 1 or qtype == Q.F32:
        return w.astype(np.float32)
    if qtype == Q.F16:
        return w.astype(np.float16)
    if qtype == Q.Q4_K:
        return quantize_q4_k(w)
    if qtype == Q.Q6_K:
        return quantize_q6_k(w)
    return gguf.quants.quantize(w.astype(np.float32), qtype)


def tensor_qtype(name: str, qtype) -> Q:
    """Q4_K_M as llama-quantize mixes it, simplified: Q6_K for the value, down and output
    projections, Q4_K for the rest."""
    if qtype != "Q4_K_M":
        return qtype
    return Q.Q6_K if name.endswith(("attn_v.weight", "ffn_down.weight", "output.weight")) else Q.Q4_K


def write_gguf(path: Path, model, arch: str, folder: Path, qtype,
               name: str | None = None) -> dict[str, np.ndarray]:
    """Writes a GGUF file (tokenizer from `folder`); returns the stored weights dequantized, in
    GGUF names and layout."""
    cfg = model.config
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(name or folder.name)
    w.add_file_type(FILE_TYPES[qtype])
    if qtype not in (Q.F32, Q.F16, Q.BF16):
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    if arch == "llama":
        w.add_vocab_size(cfg.vocab_size)
        w.add_context_length(cfg.max_position_embeddings)
        w.add_embedding_length(cfg.hidden_size)
        w.add_block_count(cfg.num_hidden_layers)
        w.add_feed_forward_length(cfg.intermediate_size)
        w.add_rope_dimension_count(cfg.head_dim)
        w.add_head_count(cfg.num_attention_heads)
        w.add_head_count_kv(cfg.num_key_value_heads)
        w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
        w.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
        w.add_key_length(cfg.head_dim)
        w.add_value_length(cfg.head_dim)
    else:
        w.add_vocab_size(cfg.vocab_size)
        w.add_context_length(cfg.n_positions)
        w.add_embedding_length(cfg.n_embd)
        w.add_feed_forward_length(4 * cfg.n_embd)
        w.add_block_count(cfg.n_layer)
        w.add_head_count(cfg.n_head)
        w.add_layer_norm_eps(cfg.layer_norm_epsilon)
    write_tokenizer_metadata(w, folder, cfg.vocab_size)
    stored = {}
    for name, t in gguf_tensors(model, arch):
        ttype = tensor_qtype(name, qtype)
        data = store(t, ttype)
        if data.dtype == np.uint8:
            w.add_tensor(name, data, raw_dtype=ttype)
            stored[name] = gguf.quants.dequantize(data, ttype).reshape(t.shape)
        else:
            w.add_tensor(name, data)
            stored[name] = data.astype(np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return stored


def llama_cpp_bin() -> Path:
    """llama.cpp's tools, llama-quantize among them, built by scripts/build_llama_cpp.sh (cached)."""
    out = subprocess.run([str(ROOT / "scripts" / "build_llama_cpp.sh")], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def llama_cpp_source() -> Path:
    """llama.cpp's source (convert_hf_to_gguf.py and its gguf-py), as scripts/build_llama_cpp.sh
    fetches it from the llama-cpp-python sdist on PyPI."""
    out = subprocess.run([str(ROOT / "scripts" / "build_llama_cpp.sh"), "--source"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return Path(out.strip().splitlines()[-1])


# convert_hf_to_gguf.py run unchanged, but for two things. It names a BPE pre-tokenizer by hashing
# the ids a fixed text gets, which only works for the real vocabularies it lists; the tiny ones
# use Qwen 2's pre-tokenizer, so that hash is replaced by its answer for Qwen 2, "qwen2". And it
# writes MistralForCausalLM as a plain llama, without its sliding window (llama.cpp runs Mistral 7B
# v0.1 with full attention); here it also writes config.json's window as
# llama.attention.sliding_window, the key llama.cpp uses for the window of other architectures.
CONVERT = """
import runpy, sys
src, folder, out, outtype = sys.argv[1:5]
sys.path[:0] = [src + "/gguf-py", src]
from conversion import base, llama
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "qwen2"
plain = llama.LlamaModel.set_gguf_parameters
def with_window(self):
    plain(self)
    if self.hparams.get("model_type") == "mistral" and self.hparams.get("sliding_window"):
        self.gguf_writer.add_sliding_window(self.hparams["sliding_window"])
llama.LlamaModel.set_gguf_parameters = with_window
sys.argv = ["convert_hf_to_gguf.py", folder, "--outfile", out, "--outtype", outtype]
runpy.run_path(src + "/convert_hf_to_gguf.py", run_name="__main__")
"""


def read_gguf(path: Path) -> dict[str, np.ndarray]:
    """A GGUF file's tensors dequantized by gguf-py, in GGUF names and numpy layout."""
    stored = {}
    for t in gguf.GGUFReader(str(path)).tensors:
        data = np.array(t.data)
        if t.tensor_type == Q.BF16:
            data = (data.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif t.tensor_type not in (Q.F32, Q.F16):
            data = gguf.quants.dequantize(data, t.tensor_type)
        stored[t.name] = data.astype(np.float32).reshape(list(reversed([int(d) for d in t.shape])))
    return stored


def stored_types(path: Path) -> str:
    """The storage types of a GGUF file's 2-D tensors, most used first (by tensor count)."""
    counts: dict[str, int] = {}
    for t in gguf.GGUFReader(str(path)).tensors:
        if len(t.shape) == 2:
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
    return ", ".join(sorted(counts, key=lambda k: (-counts[k], k)))


def convert_with_llama_cpp(folder: Path, path: Path, model, arch: str = "qwen") -> None:
    """Converts `folder` to BF16 with llama.cpp's own converter, having checked that the stored
    weights are the model's unpermuted (Qwen's q and k rows keep their NeoX order in GGUF)."""
    subprocess.run([sys.executable, "-c", CONVERT, str(llama_cpp_source()), str(folder), str(path),
                    "bf16"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stored = read_gguf(path)
    want = dict(gguf_tensors(model, arch))
    assert stored.keys() == want.keys(), (sorted(stored), sorted(want))
    for name, w in want.items():
        assert np.array_equal(stored[name], w), name


def load_dequantized(model, arch: str, stored: dict[str, np.ndarray]):
    """A copy of `model` whose weights are the GGUF file's, dequantized (Q and K un-permuted,
    Gemma's norms back from 1 + w)."""
    cfg = model.config
    clone = type(model)(cfg).eval()
    sd = clone.state_dict()
    for hf in sd:
        name = gguf_name(arch, hf)
        if name is None or name not in stored and name == "output.weight":  # tied: set below
            continue
        w = stored[name]
        if arch == "gemma3" and name.endswith("norm.weight"):
            w = w - 1.0

        if arch == "llama" and name.endswith("attn_q.weight"):
            w = unpermute(w, cfg.num_attention_heads)
        if arch == "llama" and name.endswith("attn_k.weight"):
            w = unpermute(w, cfg.num_key_value_heads)
        if arch == "gpt2" and w.ndim == 2 and ".c_" in hf:
            w = w.T
        sd[hf] = torch.from_numpy(np.ascontiguousarray(w))
    if arch == "gpt2":
        sd["lm_head.weight"] = sd["transformer.wte.weight"]
    elif "lm_head.weight" in sd and "output.weight" not in stored:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    clone.load_state_dict(sd)
    return clone


def quantized_copies(index: dict, name: str, arch: str, model, vocab: dict[int, str],
                     added: dict[int, bool], seed: int) -> None:
    """Q8_0 and Q4_K_M copies of MODELS/name-bf16.gguf made by llama-quantize, as people make
    them, with their references on gguf-py's dequantization of the stored weights. Rows of 64
    values are too short for K-quants' 256-value blocks, so llama-quantize stores those in its
    fallbacks (Q5_0 for Q4_K, Q8_0 for Q6_K); ffn_down's rows of 256 get Q4_K and Q6_K."""
    gguf_arch = index[f"{name}-bf16"]["arch"]
    for qtype in ("Q8_0", "Q4_K_M"):
        copy_name = f"{name}-{qtype.lower()}"
        path = MODELS / f"{copy_name}.gguf"
        subprocess.run([str(llama_cpp_bin() / "llama-quantize"), str(MODELS / f"{name}-bf16.gguf"),
                        str(path), qtype], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        reference = load_dequantized(model, arch, read_gguf(path))
        result = references({"q": reference}, vocab, added, seed=seed)["q"]
        seed += 1
        index[copy_name] = {
            "arch": gguf_arch, "files": [path.name], "vocab_size": model.config.vocab_size,
            "weights": stored_types(path), **write_reference(copy_name, result)}


# ------------------------------------------------------------------------------------------------
# References


def prompts(vocab: dict[int, str], added: dict[int, bool], seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    normal = np.array(sorted(i for i in vocab if i not in added))
    return [[int(x) for x in rng.choice(normal, n)] for n in PROMPT_LENGTHS]


MIN_MARGIN = 2e-3  # greedy picks closer than this could flip on rounding; such prompts are redrawn


@torch.no_grad()
def run_reference(model, prompt_ids: list[list[int]]) -> tuple[list[np.ndarray], list[dict]]:
    """All positions' logits of each prompt and the greedy continuation of GREEDY_TOKENS tokens
    (generate() with its cache), with the smallest top-1/top-2 logit gap met along the way."""
    blobs, records = [], []
    for ids in prompt_ids:
        x = torch.tensor([ids])
        blobs.append(model(x).logits[0].float().numpy().astype("<f4"))
        out = model.generate(x, max_new_tokens=GREEDY_TOKENS, min_new_tokens=GREEDY_TOKENS,
                             do_sample=False, pad_token_id=0)
        greedy = [int(t) for t in out[0, len(ids):]]
        # The same continuation without the cache, to know how close each pick was.
        seq, margin = list(ids), float("inf")
        for t in greedy:
            last = model(torch.tensor([seq])).logits[0, -1]
            top = torch.topk(last, 2).values
            # A pick the cache changed is a near tie too.
            margin = min(margin, float(top[0] - top[1]) if int(torch.argmax(last)) == t else 0.0)
            seq.append(t)
        records.append({"ids": ids, "greedy": greedy, "greedy_min_margin": margin})
    return blobs, records


def references(variants: dict[str, object], vocab: dict[int, str], added: dict[int, bool],
               seed: int) -> dict[str, tuple[list[np.ndarray], list[dict]]]:
    """References of every variant on one set of prompts, redrawn until no greedy pick of any
    variant is a near tie."""
    for attempt in range(100):
        ids = prompts(vocab, added, seed + 1000 * attempt)
        results = {name: run_reference(model, ids) for name, model in variants.items()}
        if all(r["greedy_min_margin"] >= MIN_MARGIN for _, recs in results.values() for r in recs):
            return results
    raise RuntimeError("no prompts without near ties")


def write_reference(name: str, result: tuple[list[np.ndarray], list[dict]]) -> dict:
    blobs, records = result
    offset = 0
    for blob, record in zip(blobs, records):
        record["offset"] = offset
        record["rows"] = blob.shape[0]
        offset += blob.size
    np.concatenate([b.ravel() for b in blobs]).tofile(MODELS / f"{name}.logits.f32")
    return {"logits": f"{name}.logits.f32", "prompts": records}


# ------------------------------------------------------------------------------------------------
# Dequantization fixtures


def f16_bits(values) -> np.ndarray:
    return np.array(values, dtype=np.float32).astype(np.float16).view(np.uint16)


def dequant_cases(rng: np.random.Generator) -> dict[str, tuple[Q, np.ndarray]]:
    cases = {}
    data = (rng.standard_normal(32 * 8) * rng.uniform(0.01, 3.0, 32 * 8)).astype(np.float32)
    data[:32] = 0.0  # an all-zero block: scale 0
    data[32:64] *= 1e-3
    for qtype in (Q.Q8_0, Q.Q4_0, Q.Q4_1):
        cases[qtype.name] = (qtype, gguf.quants.quantize(data.reshape(2, -1), qtype).ravel())
    # K-quants: gguf-py cannot quantize them, so random bytes with sane f16 scales.
    q4k = rng.integers(0, 256, (4, 144), dtype=np.uint8)
    q4k[:, 0:2] = f16_bits(rng.uniform(0.001, 0.05, 4)).view(np.uint8).reshape(4, 2)
    q4k[:, 2:4] = f16_bits(rng.uniform(0.001, 0.05, 4)).view(np.uint8).reshape(4, 2)
    cases["Q4_K"] = (Q.Q4_K, q4k.ravel())
    q6k = rng.integers(0, 256, (4, 210), dtype=np.uint8)
    q6k[:, 208:210] = f16_bits(rng.uniform(0.0005, 0.02, 4)).view(np.uint8).reshape(4, 2)
    cases["Q6_K"] = (Q.Q6_K, q6k.ravel())
    # F16 and BF16: every edge (zeros, subnormals, the largest finite, infinities, NaNs with and
    # without payloads) then random bit patterns.
    edges16 = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x7BFF, 0xFBFF,
               0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7FFF, 0x3555, 0x0200]
    f16 = np.concatenate([np.array(edges16, np.uint16), rng.integers(0, 65536, 494, dtype=np.uint16)])
    cases["F16"] = (Q.F16, f16.view(np.uint8))
    edges_bf = [0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0080, 0x3F80, 0xBF80, 0x7F7F, 0xFF7F,
                0x7F80, 0xFF80, 0x7FC0, 0xFFC0, 0x7F81, 0x7FFF, 0x3EAB, 0x0040]
    bf16 = np.concatenate([np.array(edges_bf, np.uint16), rng.integers(0, 65536, 494, dtype=np.uint16)])
    cases["BF16"] = (Q.BF16, bf16.view(np.uint8))
    # Added later, after every draw above, so that the fixtures above stay as they were.
    for qtype in (Q.Q5_0, Q.Q5_1):
        cases[qtype.name] = (qtype, gguf.quants.quantize(data.reshape(2, -1), qtype).ravel())
    q5k = rng.integers(0, 256, (4, 176), dtype=np.uint8)
    q5k[:, 0:2] = f16_bits(rng.uniform(0.001, 0.05, 4)).view(np.uint8).reshape(4, 2)
    q5k[:, 2:4] = f16_bits(rng.uniform(0.001, 0.05, 4)).view(np.uint8).reshape(4, 2)
    cases["Q5_K"] = (Q.Q5_K, q5k.ravel())
    return cases


def dequantize(raw: np.ndarray, qtype: Q) -> np.ndarray:
    if qtype == Q.F16:
        return raw.view(np.float16).astype(np.float32)
    return gguf.quants.dequantize(raw, qtype).astype(np.float32).ravel()


def make_dequant_fixtures() -> None:
    if DEQUANT.exists():
        shutil.rmtree(DEQUANT)
    DEQUANT.mkdir(parents=True)
    index = {}
    for name, (qtype, raw) in dequant_cases(np.random.default_rng(7)).items():
        values = dequantize(raw, qtype)
        stem = name.lower()
        raw.astype(np.uint8).tofile(DEQUANT / f"{stem}.raw")
        values.astype("<f4").tofile(DEQUANT / f"{stem}.f32")
        index[name] = {"ggml_type": int(qtype), "elements": int(values.size), "raw": f"{stem}.raw",
                       "raw_bytes": int(raw.size), "values": f"{stem}.f32"}
    (DEQUANT / "index.json").write_text(json.dumps(index, indent=1) + "\n")


# ------------------------------------------------------------------------------------------------
# A small GGUF with every metadata value type, for the reader's own tests.


def make_small_gguf(path: Path) -> None:
    w = gguf.GGUFWriter(str(path), "test")
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.25)
    w.add_bool("t.bool", True)
    w.add_string("t.string", "h\u00e9llo")
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", -1.5e300)
    w.add_array("t.ints", [1, -2, 3])
    w.add_array("t.strings", ["a", "", "c c"])
    w.add_array("t.floats", [0.5, -2.0])
    w.add_array("t.nested", [[1, 2], [3]])
    w.add_tensor("a", np.arange(8, dtype=np.float32).reshape(2, 4))
    w.add_tensor("b", np.array([1, -2, 0.5, 65504], dtype=np.float16))
    w.add_tensor("c", gguf.quants.quantize(np.linspace(-1, 1, 32, dtype=np.float32)[None, :], Q.Q8_0),
                 raw_dtype=Q.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ------------------------------------------------------------------------------------------------


LONG_PROMPT = 4096
LONG_POSITIONS = list(range(0, LONG_PROMPT, 128)) + [LONG_PROMPT - 1]


def long_context() -> None:
    """A 4,096-token prompt through a tiny Llama 3.1-style model whose RoPE is scaled 8 times over
    an original context of 512: torch's logits at every 128th position and the last one, and the
    greedy continuation. Writes tiny-llama3-long-f32.gguf, its logits and long_context.json."""
    tok = llama3_tokenizer()
    vocab, added = vocab_entries(tok)
    bos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|begin_of_text|>")
    eos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|end_of_text|>")
    model = make_llama(max(vocab) + 1, 2, bos, eos, seed=4096, context=LONG_PROMPT + GREEDY_TOKENS,
                       rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 512})
    name = "tiny-llama3-long-f32"
    with tempfile.TemporaryDirectory() as folder:  # the tokenizer's files, for the GGUF only
        save_hf(model, Path(folder), tok, None, {})
        write_gguf(MODELS / f"{name}.gguf", model, "llama", Path(folder), Q.F32)
    rng = np.random.default_rng(4096)
    normal = np.array(sorted(i for i in vocab if i not in added))
    for attempt in range(100):
        ids = [int(x) for x in rng.choice(normal, LONG_PROMPT)]
        (logits,), (record,) = run_reference(model, [ids])
        if record["greedy_min_margin"] >= MIN_MARGIN:
            break
    else:
        raise RuntimeError("no long prompt without near ties")
    logits[LONG_POSITIONS].tofile(MODELS / f"{name}.logits.f32")
    (MODELS / "long_context.json").write_text(json.dumps({
        "file": f"{name}.gguf", "vocab_size": model.config.vocab_size, "logits": f"{name}.logits.f32",
        "positions": LONG_POSITIONS, "ids": ids, "greedy": record["greedy"]}) + "\n")
    print(f"{name}: {LONG_PROMPT} positions, greedy margin {record['greedy_min_margin']:.4f}")


def main() -> None:
    hf_logging.set_verbosity_error()
    logging.getLogger("gguf").setLevel(logging.ERROR)
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    if sys.argv[1:] == ["--long-context"]:
        return long_context()
    MODELS.mkdir(parents=True, exist_ok=True)
    for old in MODELS.glob("*.gguf"):
        old.unlink()
    for old in MODELS.glob("*.logits.f32"):
        old.unlink()
    index: dict[str, dict] = {}

    # Tiny Llama: Llama 3 style tokenizer, GQA, untied head; vocabulary padded past the tokens.
    tok = llama3_tokenizer()
    vocab, added = vocab_entries(tok)
    n_vocab = (max(vocab) + 1 + 8 + 31) // 32 * 32
    bos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|begin_of_text|>")
    eos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|end_of_text|>")
    llama = make_llama(n_vocab, 2, bos, eos, seed=1234)
    folder = MODELS / "tiny-llama-hf"
    tok_config = {"bos_token": "<|begin_of_text|>",
                  "eos_token": {"content": "<|eot_id|>", "special": True},
                  "add_bos_token": True, "chat_template": LLAMA3_CHAT_TEMPLATE,
                  "tokenizer_class": "PreTrainedTokenizerFast"}
    save_hf(llama, folder, tok, tok_config, {})
    variants, files = {}, {}
    for qtype in (Q.F32, Q.F16, Q.Q8_0, Q.Q4_0, Q.Q4_1):
        name = f"tiny-llama-{qtype.name.lower()}"
        stored = write_gguf(MODELS / f"{name}.gguf", llama, "llama", folder, qtype)
        variants[name] = llama if qtype == Q.F32 else load_dequantized(llama, "llama", stored)
        files[name] = [f"{name}.gguf"]
    files["tiny-llama-f32"].append("tiny-llama-hf")
    for name, result in references(variants, vocab, added, seed=11).items():
        index[name] = {"arch": "llama", "files": files[name], "vocab_size": n_vocab,
                       "weights": name.rsplit("-", 1)[1].upper(), **write_reference(name, result)}

    # Tiny GPT-2: GPT-2 tokenizer, tied head, no tokenizer_config.json (ids from config.json).
    tok = gpt2_tokenizer()
    vocab, added = vocab_entries(tok)
    eos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|endoftext|>")
    gpt2 = make_gpt2(max(vocab) + 1, eos, seed=99)
    folder = MODELS / "tiny-gpt2-hf"
    save_hf(gpt2, folder, tok, None, {})
    write_gguf(MODELS / "tiny-gpt2-f32.gguf", gpt2, "gpt2", folder, Q.F32)
    result = references({"tiny-gpt2-f32": gpt2}, vocab, added, seed=12)["tiny-gpt2-f32"]
    index["tiny-gpt2-f32"] = {"arch": "gpt2", "files": ["tiny-gpt2-f32.gguf", "tiny-gpt2-hf"],
                              "vocab_size": gpt2.config.vocab_size, "weights": "F32",
                              **write_reference("tiny-gpt2-f32", result)}

    # Tiny Llama 2 style: SentencePiece-style tokenizer, one layer, BF16 weights (in the folder and
    # in the GGUF), chat template in chat_template.jinja. The reference runs on the BF16 values.
    tok = llama2_tokenizer()
    vocab, added = vocab_entries(tok)
    spm = make_llama(max(vocab) + 1, 1, 1, 2, seed=4321)
    with torch.no_grad():
        for p in spm.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    folder = MODELS / "tiny-llama-spm-hf"
    tok_config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                  "add_bos_token": True, "add_eos_token": False, "legacy": False,
                  "tokenizer_class": "LlamaTokenizerFast"}
    # A copy is cast for saving: casting the model itself would also round its RoPE frequencies.
    for dest, shard in ((folder, {}), (MODELS / "tiny-llama-spm-sharded-hf", {"max_shard_size": "70KB"})):
        save_hf(copy.deepcopy(spm).to(torch.bfloat16), dest, tok, tok_config,
                {"chat_template.jinja": LLAMA2_CHAT_TEMPLATE}, **shard)
    stored = write_gguf(MODELS / "tiny-llama-spm-bf16.gguf", spm, "llama", folder, Q.BF16)
    assert all(np.array_equal(stored[n], t) for n, t in gguf_tensors(spm, "llama"))
    result = references({"s": spm}, vocab, added, seed=13)["s"]
    index["tiny-llama-spm-bf16"] = {
        "arch": "llama",
        "files": ["tiny-llama-spm-bf16.gguf", "tiny-llama-spm-hf", "tiny-llama-spm-sharded-hf"],
        "vocab_size": spm.config.vocab_size, "weights": "BF16",
        **write_reference("tiny-llama-spm-bf16", result)}

    # Tiny Llama in K-quants (widths of 256 for their 256-value blocks), mixed as Q4_K_M mixes
    # them, with the GPT-2 tokenizer; GGUF only, the reference on the dequantized weights.
    tok = gpt2_tokenizer()
    vocab, added = vocab_entries(tok)
    kq = make_llama(max(vocab) + 1, 1, 0, 0, seed=777, hidden=256, ffn=256)
    stored = write_gguf(MODELS / "tiny-llama-q4_k_m.gguf", kq, "llama", MODELS / "tiny-gpt2-hf",
                        "Q4_K_M", name="tiny-llama-q4_k_m")
    result = references({"k": load_dequantized(kq, "llama", stored)}, vocab, added, seed=14)["k"]
    index["tiny-llama-q4_k_m"] = {
        "arch": "llama", "files": ["tiny-llama-q4_k_m.gguf"], "vocab_size": kq.config.vocab_size,
        "weights": "Q4_K and Q6_K", **write_reference("tiny-llama-q4_k_m", result)}

    # Tiny Llama 3.1 style: RoPE scaling of type llama3 over an original context of 32, so that the
    # 8 rotary pairs hold all three cases (kept, blended, slowed 8 times). The GGUF carries the
    # factors as rope_freqs.weight, as convert_hf_to_gguf.py writes them; the folder, the scaling.
    tok = llama3_tokenizer()
    vocab, added = vocab_entries(tok)
    bos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|begin_of_text|>")
    eos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|end_of_text|>")
    scaled = make_llama(max(vocab) + 1, 1, bos, eos, seed=3131, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32})
    folder = MODELS / "tiny-llama3-rope-hf"
    save_hf(scaled, folder, tok, None, {})
    write_gguf(MODELS / "tiny-llama3-rope-f32.gguf", scaled, "llama", folder, Q.F32)
    result = references({"r": scaled}, vocab, added, seed=15)["r"]
    index["tiny-llama3-rope-f32"] = {
        "arch": "llama", "files": ["tiny-llama3-rope-f32.gguf", "tiny-llama3-rope-hf"],
        "vocab_size": scaled.config.vocab_size, "weights": "F32",
        **write_reference("tiny-llama3-rope-f32", result)}

    # Tiny Qwen 2 and Qwen 3 with a Qwen-2-style tokenizer, BF16 weights; the GGUF files are
    # written by llama.cpp's convert_hf_to_gguf.py from the folders.
    tok = qwen2_tokenizer()
    vocab, added = vocab_entries(tok)
    eos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|im_end|>")
    tok_config = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                  "add_bos_token": False, "chat_template": CHATML_TEMPLATE,
                  "tokenizer_class": "PreTrainedTokenizerFast"}
    for version, seed in ((2, 2020), (3, 3030)):
        name = f"tiny-qwen{version}"
        qwen = make_qwen(version, max(vocab) + 1, eos, seed)
        folder = MODELS / f"{name}-hf"
        save_hf(copy.deepcopy(qwen).to(torch.bfloat16), folder, tok, tok_config, {})
        convert_with_llama_cpp(folder, MODELS / f"{name}-bf16.gguf", qwen)
        result = references({"q": qwen}, vocab, added, seed=16 + version)["q"]
        index[f"{name}-bf16"] = {
            "arch": f"qwen{version}", "files": [f"{name}-bf16.gguf", f"{name}-hf"],
            "vocab_size": qwen.config.vocab_size, "weights": "BF16",
            **write_reference(f"{name}-bf16", result)}
        quantized_copies(index, name, "qwen", qwen, vocab, added, seed=30 + 2 * version)

    # Tiny Mistral (a sliding window of 8) with the same tokenizer; the converter writes it as a
    # llama, q and k permuted as for Llama.
    mistral = make_mistral(max(vocab) + 1, eos, seed=4040)
    folder = MODELS / "tiny-mistral-hf"
    save_hf(copy.deepcopy(mistral).to(torch.bfloat16), folder, tok, tok_config, {})
    convert_with_llama_cpp(folder, MODELS / "tiny-mistral-bf16.gguf", mistral, "llama")
    result = references({"m": mistral}, vocab, added, seed=21)["m"]
    index["tiny-mistral-bf16"] = {
        "arch": "llama", "files": ["tiny-mistral-bf16.gguf", "tiny-mistral-hf"],
        "vocab_size": mistral.config.vocab_size, "weights": "BF16",
        **write_reference("tiny-mistral-bf16", result)}
    quantized_copies(index, "tiny-mistral", "llama", mistral, vocab, added, seed=40)

    # Tiny Phi-3 (fused projections, a sliding window of 8) with the same tokenizer, which the
    # converter reads as a GPT-2-style BPE when tokenizer_config.json says GPT2Tokenizer (Phi-4's
    # way; Phi-3's own tokenizer.model is SentencePiece).
    phi3 = make_phi3(max(vocab) + 1, eos, seed=5050)
    folder = MODELS / "tiny-phi3-hf"
    save_hf(copy.deepcopy(phi3).to(torch.bfloat16), folder, tok,
            {**tok_config, "tokenizer_class": "GPT2Tokenizer"}, {})
    convert_with_llama_cpp(folder, MODELS / "tiny-phi3-bf16.gguf", phi3, "phi3")
    result = references({"p": phi3}, vocab, added, seed=22)["p"]
    index["tiny-phi3-bf16"] = {
        "arch": "phi3", "files": ["tiny-phi3-bf16.gguf", "tiny-phi3-hf"],
        "vocab_size": phi3.config.vocab_size, "weights": "BF16",
        **write_reference("tiny-phi3-bf16", result)}
    quantized_copies(index, "tiny-phi3", "phi3", phi3, vocab, added, seed=42)

    # Tiny Gemma 3 with the same tokenizer (no tokenizer.model: the converter reads it as a BPE).
    gemma = make_gemma3(max(vocab) + 1, eos, seed=6060)
    folder = MODELS / "tiny-gemma3-hf"
    save_hf(copy.deepcopy(gemma).to(torch.bfloat16), folder, tok, tok_config, {})
    convert_with_llama_cpp(folder, MODELS / "tiny-gemma3-bf16.gguf", gemma, "gemma3")
    result = references({"g": gemma}, vocab, added, seed=23)["g"]
    index["tiny-gemma3-bf16"] = {
        "arch": "gemma3", "files": ["tiny-gemma3-bf16.gguf", "tiny-gemma3-hf"],
        "vocab_size": gemma.config.vocab_size, "weights": "BF16",
        **write_reference("tiny-gemma3-bf16", result)}
    quantized_copies(index, "tiny-gemma3", "gemma3", gemma, vocab, added, seed=44)

    make_small_gguf(MODELS / "small-all-types.gguf")
    long_context()
    (MODELS / "goldens.json").write_text(json.dumps(
        {"format": 1, "prompt_lengths": list(PROMPT_LENGTHS), "greedy_tokens": GREEDY_TOKENS,
         "models": index}, indent=1) + "\n")
    make_dequant_fixtures()

    total = 0
    for base in (MODELS, DEQUANT):
        for f in sorted(base.rglob("*")):
            if f.is_file():
                total += f.stat().st_size
    print(f"fixtures: {total / 1e6:.2f} MB")
    for name, entry in index.items():
        margins = [p["greedy_min_margin"] for p in entry["prompts"]]
        print(f"  {name:22} vocab {entry['vocab_size']:4}  files {', '.join(entry['files'])}"
              f"  greedy min margin {min(margins):.4f}")


if __name__ == "__main__":
    sys.exit(main())
