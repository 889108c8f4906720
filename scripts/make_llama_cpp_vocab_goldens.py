#!/usr/bin/env python3
"""llama.cpp's ids for the tokenizer corpus on every vocabulary llama.cpp ships, for
tests/tokenizer/llama_cpp_vocab_test.cpp: tests/fixtures/tokenizer/llama_cpp_vocabs.json.

The vocabularies are models/ggml-vocab-*.gguf of the llama-cpp-python sdist
(scripts/build_llama_cpp.sh --source); the ids are llama-tokenize's (scripts/build_llama_cpp.sh
builds it), without BOS, for each corpus line of tests/fixtures/tokenizer/goldens.json, with
special-token text as text ("plain") and parsed ("special").

Usage: python3 scripts/make_llama_cpp_vocab_goldens.py"""
import json
import pathlib
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "tokenizer"
VOCABS = ["gpt-2", "llama-bpe", "llama-spm", "qwen2", "qwen35", "phi-3", "gemma-4", "deepseek-llm",
          "deepseek-coder", "command-r", "falcon", "starcoder", "mpt", "refact", "gpt-neox", "baichuan",
          "aquila", "bert-bge"]


def script_output(*args):
    return subprocess.run([str(ROOT / "scripts" / "build_llama_cpp.sh"), *args], check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]


def llama_tokenize(tool, vocab, text, parse_special):
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as f:
        f.write(text)
        f.flush()
        flags = [] if parse_special else ["--no-parse-special"]
        result = subprocess.run([tool, "-m", str(vocab), "-f", f.name, "--ids", "--no-bos", "--no-escape",
                                 "--log-disable", *flags], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    source = pathlib.Path(script_output("--source"))
    tool = str(pathlib.Path(script_output()) / "llama-tokenize")
    texts = json.loads((FIXTURES / "goldens.json").read_text(encoding="utf-8"))["corpus"]
    out = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name in VOCABS:
            vocab = source / "models" / f"ggml-vocab-{name}.gguf"
            out[name] = {mode: list(pool.map(lambda t: llama_tokenize(tool, vocab, t, mode == "special"), texts))
                         for mode in ("plain", "special")}
            print(f"{name}: {len(texts)} lines", flush=True)
    lines = ",\n".join(f' "{name}": {{"plain": {json.dumps(v["plain"])}, "special": {json.dumps(v["special"])}}}'
                       for name, v in out.items())
    (FIXTURES / "llama_cpp_vocabs.json").write_text("{\n" + lines + "\n}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
