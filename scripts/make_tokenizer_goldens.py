#!/usr/bin/env python3
"""Reference token ids for tests/tokenizer/tokenizer_test.cpp, from Hugging Face's own tokenizers:
  - the default model's tokenizer, as transformers builds it from the GGUF file, and as llama.cpp's
    llama-tokenize does (built by scripts/build_llama_cpp.sh; skipped with a warning without it);
  - the tiny fixture models' tokenizer.json files (tests/fixtures/models/*-hf), with `tokenizers`;
and the chat prompts transformers renders with the templates (SmolLM2's ChatML, the tiny
SentencePiece model's Llama 2 template, and a Llama 3 template).
The corpus is tests/fixtures/tokenizer/corpus.txt (one case a line, \\n \\r \\t escaped); the goldens
hold it unescaped, so the C++ test reads the texts from there.

Usage: python3 scripts/make_tokenizer_goldens.py [MODEL.gguf]"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import jinja2
from tokenizers import Tokenizer
from transformers import AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MODEL = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = FIXTURES / "tokenizer" / "goldens.json"

LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)
CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 plus 3?"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Hello there. "},
     {"role": "user", "content": "What color is the sky?"}],
]


def corpus():
    lines = (FIXTURES / "tokenizer" / "corpus.txt").read_text(encoding="utf-8").split("\n")
    return [l.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r") for l in lines if l]


LLAMA_TOKENIZE = pathlib.Path(os.environ.get("KVSCOPE_CACHE", pathlib.Path.home() / ".cache" / "kvscope")) \
    / "llama.cpp" / "build" / "bin" / "llama-tokenize"


def llama_cpp_ids(texts):
    out = []
    for text in texts:
        with tempfile.NamedTemporaryFile("wb", suffix=".txt") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            result = subprocess.run([str(LLAMA_TOKENIZE), "-m", str(MODEL), "-f", f.name, "--ids", "--no-bos",
                                     "--log-disable"], check=True, capture_output=True, text=True)
        out.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return out


def render(template, messages, add_generation_prompt, bos, eos):
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt,
                                            bos_token=bos, eos_token=eos)


def main():
    texts = corpus()
    out = {"corpus": texts, "references": {}, "chat": []}
    smol = AutoTokenizer.from_pretrained(MODEL.parent, gguf_file=MODEL.name)
    out["references"]["default_model"] = [smol(t, add_special_tokens=False).input_ids for t in texts]
    if LLAMA_TOKENIZE.exists():
        out["references"]["default_model_llama_cpp"] = llama_cpp_ids(texts)
    else:
        print(f"warning: {LLAMA_TOKENIZE} not built; no llama.cpp reference", file=sys.stderr)
    for folder in ["tiny-llama-hf", "tiny-gpt2-hf", "tiny-llama-spm-hf"]:
        tok = Tokenizer.from_file(str(FIXTURES / "models" / folder / "tokenizer.json"))
        out["references"][folder] = [tok.encode(t, add_special_tokens=False).ids for t in texts]
    spm_template = (FIXTURES / "models" / "tiny-llama-spm-hf" / "chat_template.jinja").read_text()
    for messages in CONVERSATIONS:
        out["chat"].append({
            "messages": messages,
            "chatml": smol.apply_chat_template(messages, tokenize=False, add_generation_prompt=True),
            # The BOS written by these templates is left to the tokenizer in kvscope: strip it.
            "llama2": render(spm_template, messages, False, "<s>", "</s>").removeprefix("<s>"),
            "llama3": render(LLAMA3_TEMPLATE, messages, True, "<|begin_of_text|>", "<|eot_id|>")
            .removeprefix("<|begin_of_text|>"),
        })
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=0))
    print(f"{len(texts)} corpus lines; wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
