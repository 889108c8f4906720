#!/usr/bin/env python3
"""Makes the seed corpora of the file-format fuzzers under tests/fuzz/corpus/.

gguf/ holds tiny valid GGUF files: one of every metadata and tensor type, and small Llama and
GPT-2 models whose tokenizer metadata is copied from the committed fixtures in
tests/fixtures/models/ (so fuzz_tokenizer_metadata starts from real vocabularies). safetensors/
holds tiny valid .safetensors files written by the safetensors package. The whole corpus stays
well under 200 KB so that the fuzzers start fast.

Needs numpy, torch (for bfloat16), safetensors and gguf (gguf-py). Run from anywhere:
    python3 tests/fuzz/make_seeds.py
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
import gguf
from gguf import GGMLQuantizationType as Q, GGUFValueType as V
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "models"
CORPUS = Path(__file__).resolve().parent / "corpus"

rng = np.random.default_rng(7)


def small(shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------------------------------------
# GGUF


def write_gguf(path: Path, arch: str, fill) -> None:
    writer = gguf.GGUFWriter(str(path), arch)
    fill(writer)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def all_types(w: gguf.GGUFWriter) -> None:
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float32("t.f32", 1.5)
    w.add_float64("t.f64", -2.25)
    w.add_bool("t.bool", True)
    w.add_string("t.string", "caf\u00e9 \u2581")
    w.add_key_value("t.ints", [1, -2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("t.floats", [0.5, 1e30], V.ARRAY, sub_type=V.FLOAT32)
    w.add_key_value("t.strings", ["a", "", "bc"], V.ARRAY, sub_type=V.STRING)
    w.add_key_value("t.nested", [[1], [2, 3], [4]], V.ARRAY, sub_type=V.ARRAY)
    w.add_tensor("f32", small((2, 4)))
    w.add_tensor("f16", small((4,), np.float16))
    w.add_tensor("bf16", np.zeros((3, 2), np.uint8), raw_dtype=Q.BF16)
    # Raw quantized blocks: (rows, bytes per row) with the block bytes of each type.
    for name, qtype, block_bytes, block_size in [("q8_0", Q.Q8_0, 34, 32), ("q4_0", Q.Q4_0, 18, 32),
                                                 ("q4_1", Q.Q4_1, 20, 32), ("q4_k", Q.Q4_K, 144, 256),
                                                 ("q6_k", Q.Q6_K, 210, 256)]:
        rows = 1 if block_size == 256 else 2
        w.add_tensor(name, rng.integers(0, 256, (rows, block_bytes), dtype=np.uint8), raw_dtype=qtype)


def copy_tokenizer(w: gguf.GGUFWriter, fixture: str) -> int:
    """Copies every tokenizer.* key of a fixture; returns its vocabulary size."""
    reader = gguf.GGUFReader(str(FIXTURES / fixture))
    for key, field in reader.fields.items():
        if key.startswith("tokenizer."):
            sub_type = field.types[1] if field.types[0] == V.ARRAY else None
            w.add_key_value(key, field.contents(), field.types[0], sub_type=sub_type)
    return len(reader.fields["tokenizer.ggml.tokens"].contents())


def llama(fixture: str, rope_scaling: bool):
    def fill(w: gguf.GGUFWriter) -> None:
        dim, ffn = 8, 16
        vocab = copy_tokenizer(w, fixture)
        w.add_name("fuzz-llama")
        w.add_context_length(16)
        w.add_embedding_length(dim)
        w.add_block_count(1)
        w.add_feed_forward_length(ffn)
        w.add_head_count(2)
        w.add_head_count_kv(1)
        w.add_rope_dimension_count(4)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_freq_base(10000.0)
        if rope_scaling:
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(2.0)
        w.add_tensor("token_embd.weight", small((vocab, dim), np.float16))
        w.add_tensor("output_norm.weight", small((dim,)))
        w.add_tensor("blk.0.attn_norm.weight", small((dim,)))
        w.add_tensor("blk.0.ffn_down.weight", small((dim, ffn), np.float16))
    return fill


def gpt2(w: gguf.GGUFWriter) -> None:
    dim = 8
    vocab = copy_tokenizer(w, "tiny-gpt2-f32.gguf")
    w.add_name("fuzz-gpt2")
    w.add_context_length(16)
    w.add_embedding_length(dim)
    w.add_block_count(1)
    w.add_feed_forward_length(32)
    w.add_head_count(2)
    w.add_layer_norm_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_tensor("token_embd.weight", small((vocab, dim), np.float16))
    w.add_tensor("position_embd.weight", small((16, dim), np.float16))
    w.add_tensor("output.weight", small((vocab, dim), np.float16))


def make_gguf(out: Path) -> None:
    write_gguf(out / "all-types.gguf", "test", all_types)
    write_gguf(out / "llama-bpe.gguf", "llama", llama("tiny-llama-q4_0.gguf", rope_scaling=False))
    write_gguf(out / "llama-spm.gguf", "llama", llama("tiny-llama-spm-bf16.gguf", rope_scaling=True))
    write_gguf(out / "gpt2-bpe.gguf", "gpt2", gpt2)
    # Version 2 has the same layout as version 3 for little-endian files.
    v2 = bytearray((out / "all-types.gguf").read_bytes())
    v2[4:8] = (2).to_bytes(4, "little")
    (out / "all-types-v2.gguf").write_bytes(bytes(v2))


# ------------------------------------------------------------------------------------------------
# Safetensors


def make_safetensors(out: Path) -> None:
    save_numpy({"a": small((2, 3)), "b": small((4,))}, str(out / "f32.safetensors"))
    save_numpy({"scalar": np.array(2.5, np.float32), "four_d": small((1, 2, 1, 2), np.float16)},
               str(out / "f16-scalar-4d.safetensors"))
    torch.manual_seed(7)
    save_torch({"model.embed_tokens.weight": torch.randn(6, 4, dtype=torch.bfloat16),
                "model.norm.weight": torch.ones(4, dtype=torch.float32),
                "lm_head.weight": torch.randn(6, 4, dtype=torch.float16)},
               str(out / "mixed-metadata.safetensors"), metadata={"format": "pt"})
    save_numpy({}, str(out / "empty.safetensors"))


def main() -> None:
    for name, make in [("gguf", make_gguf), ("safetensors", make_safetensors)]:
        with tempfile.TemporaryDirectory() as tmp:
            make(Path(tmp))
            target = CORPUS / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(tmp, target)
            target.chmod(0o755)
            for f in target.iterdir():
                f.chmod(0o644)
    total = sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file())
    print(f"seeds: {total} bytes under {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
