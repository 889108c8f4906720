#!/usr/bin/env python3
"""Chat templates and their renders by transformers' apply_chat_template, for
tests/tokenizer/chat_template_test.cpp.

Writes under tests/fixtures/tokenizer/chat_templates/:
  NAME.jinja     the templates: those of llama.cpp's models/templates/ (from the llama-cpp-python
                 sdist, scripts/build_llama_cpp.sh --source), the default model's own (read from its
                 GGUF) and kvscope's built-in ChatML, Llama 2 and Llama 3 fallbacks
  goldens.json   the conversations, and for each template its BOS and EOS texts and its render of
                 every conversation with and without add_generation_prompt (or the error it raises)
Renders happen at a fixed time (FIXED_TIME, for templates that call strftime_now) and with
date_string set, so that they do not depend on the day they are made.

Usage: python3 scripts/make_chat_template_goldens.py [DEFAULT_MODEL.gguf]"""
import datetime
import json
import pathlib
import subprocess
import sys

import transformers.utils.chat_template_utils as chat_utils
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures" / "tokenizer" / "chat_templates"
DEFAULT_MODEL = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
LLAMA_CPP = pathlib.Path(subprocess.run([str(ROOT / "scripts" / "build_llama_cpp.sh"), "--source"],
                                        check=True, capture_output=True, text=True).stdout.strip())

# Noon UTC, so that the date is the same in every time zone the C++ test may run in.
FIXED_TIME = datetime.datetime(2024, 7, 26, 12, 0, 0, tzinfo=datetime.timezone.utc)
EXTRA = {"date_string": "26 Jul 2024"}

# llama.cpp's template files, with the BOS and EOS texts of their models' tokenizer_config.json.
LLAMA3 = ("<|begin_of_text|>", "<|eot_id|>")
DEEPSEEK = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")
LLAMA_CPP_TEMPLATES = {
    "meta-llama-Llama-3.1-8B-Instruct": LLAMA3,
    "meta-llama-Llama-3.2-3B-Instruct": LLAMA3,
    "meta-llama-Llama-3.3-70B-Instruct": LLAMA3,
    "Qwen-Qwen2.5-7B-Instruct": (None, "<|im_end|>"),
    "Qwen-Qwen3-0.6B": (None, "<|im_end|>"),
    "google-gemma-2-2b-it": ("<bos>", "<eos>"),
    "google-gemma-4-31B-it": ("<bos>", "<eos>"),
    "mistralai-Mistral-Nemo-Instruct-2407": ("<s>", "</s>"),
    "Mistral-Small-3.2-24B-Instruct-2506": ("<s>", "</s>"),
    "microsoft-Phi-3.5-mini-instruct": ("<s>", "<|endoftext|>"),
    "HuggingFaceTB-SmolLM3-3B": (None, "<|im_end|>"),
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B": DEEPSEEK,
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": DEEPSEEK,
    "ibm-granite-granite-3.3-2B-Instruct": ("<|end_of_text|>", "<|end_of_text|>"),
    "ibm-granite-granite-4.0": ("<|end_of_text|>", "<|end_of_text|>"),
}

# kvscope's fallbacks (src/tokenizer/builtin_chat_templates.cpp; the test checks they are these).
BUILTIN_TEMPLATES = {
    "builtin-chatml": ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
                       "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
                       "{{ '<|im_start|>assistant\\n' }}{% endif %}", None, "<|im_end|>"),
    "builtin-llama2": (
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
        "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
        "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
        "{% if loop.index0 == 0 and system_message != false %}"
        "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
        "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
        "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
        "{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}", "<s>", "</s>"),
    "builtin-llama3": (
        "{% set loop_messages = messages %}{% for message in loop_messages %}"
        "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
        "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
        "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
        *LLAMA3),
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 plus 3?"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Hello there. "},
     {"role": "user", "content": "  What color is\nthe sky?\n"}],
    [{"role": "system", "content": "You speak French.\n"}, {"role": "user", "content": "Bonjour"},
     {"role": "assistant", "content": "Bonjour ! 😀"}, {"role": "user", "content": "Ça va ?"}],
    [{"role": "user", "content": "Write {{ braces }} and {% tags %} <|im_end|> literally."},
     {"role": "assistant", "content": "Done: {{ braces }}"}],
]


class FixedDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_TIME.astimezone(tz) if tz else FIXED_TIME.astimezone().replace(tzinfo=None)


def default_model_template():
    sys.path.insert(0, str(LLAMA_CPP / "gguf-py"))
    import gguf
    field = gguf.GGUFReader(str(DEFAULT_MODEL)).fields["tokenizer.chat_template"]
    return field.contents(), ("<|im_start|>", "<|im_end|>")


def renders(source, bos, eos):
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_file(
        str(ROOT / "tests" / "fixtures" / "tokenizer" / "tiny_bpe" / "tokenizer.json")),
        **({"bos_token": bos} if bos else {}), **({"eos_token": eos} if eos else {}))
    out = []
    for i, messages in enumerate(CONVERSATIONS):
        for add_generation_prompt in (True, False):
            case = {"conversation": i, "add_generation_prompt": add_generation_prompt}
            try:
                case["text"] = tok.apply_chat_template(messages, chat_template=source, tokenize=False,
                                                       add_generation_prompt=add_generation_prompt, **EXTRA)
            except Exception as e:  # the template's raise_exception, or a Jinja error
                case["error"] = str(e)
            out.append(case)
    return out


def main():
    chat_utils.datetime = FixedDatetime
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    sources = {name: ((LLAMA_CPP / "models" / "templates" / f"{name}.jinja").read_text(encoding="utf-8"), *tokens)
               for name, tokens in LLAMA_CPP_TEMPLATES.items()}
    if DEFAULT_MODEL.exists():
        source, tokens = default_model_template()
        sources["SmolLM2-135M-Instruct"] = (source, *tokens)
    else:
        print(f"warning: {DEFAULT_MODEL} is not there (scripts/fetch_model.sh); its template is left out",
              file=sys.stderr)
    sources.update(BUILTIN_TEMPLATES)
    templates = {}
    for name, (source, bos, eos) in sources.items():
        (OUT_DIR / f"{name}.jinja").write_text(source, encoding="utf-8")
        templates[name] = {"bos_token": bos or "", "eos_token": eos or "", "renders": renders(source, bos, eos)}
    out = {"fixed_time": int(FIXED_TIME.timestamp()), "extra": EXTRA, "conversations": CONVERSATIONS,
           "templates": templates}
    (OUT_DIR / "goldens.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    errors = sum("error" in c for t in templates.values() for c in t["renders"])
    print(f"{len(templates)} templates, {len(CONVERSATIONS)} conversations, {errors} renders that raise; "
          f"wrote {OUT_DIR / 'goldens.json'}")


if __name__ == "__main__":
    main()
