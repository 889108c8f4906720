#!/usr/bin/env python3
"""Fixtures and reference token ids for tests/tokenizer/, from the reference implementations.

Writes under tests/fixtures/tokenizer/:
  tiny_bpe/tokenizer.json   a byte-level BPE (about 500 tokens) trained with `tokenizers` on the
                            corpus, GPT-2 pre-tokenizer
  tiny_bpe_<pre>.gguf       that vocabulary as tokenizer.ggml.* metadata (no tensors), once per
                            pre-tokenizer: gpt-2, smollm, llama-bpe
  tiny_spm.gguf             a SentencePiece BPE with byte fallback (Llama 2 style) trained with
                            `sentencepiece`, converted as llama.cpp's convert_hf_to_gguf.py does
  goldens.json              the corpus, the references' ids for every line
The references:
  - the default model's tokenizer as transformers builds it from the GGUF file;
  - `tokenizers` for the tiny byte-level vocabularies and for the tokenizer.json files of the
    tiny checkpoint folders in tests/fixtures/models, `sentencepiece` for the tiny SPM;
  - llama.cpp's llama-tokenize on every GGUF, when scripts/build_llama_cpp.sh has built it
    (skipped with a warning otherwise);
Each reference gives "plain" ids (special-token text tokenized as text) and, where the reference
can, "special" ids (special-token text parsed into the special tokens).

The corpus is tests/fixtures/tokenizer/corpus.txt, one case a line with \\n \\r \\t escaped;
goldens.json holds it unescaped, so the C++ tests read the texts from there.

With --llama-cpp-vocabs, it only adds to goldens.json llama-tokenize's ids on the corpus for every
vocabulary-only GGUF that llama.cpp's source ships (models/ggml-vocab-*.gguf, which
scripts/build_llama_cpp.sh --source fetches), as "vocab_<name>_llama_cpp".

Usage: python3 scripts/make_tokenizer_goldens.py [DEFAULT_MODEL.gguf]
       python3 scripts/make_tokenizer_goldens.py --llama-cpp-vocabs"""
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import gguf
import sentencepiece
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures" / "tokenizer"
MODELS_DIR = ROOT / "tests" / "fixtures" / "models"
ONLY_VOCABS = sys.argv[1:] == ["--llama-cpp-vocabs"]
DEFAULT_MODEL = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 and not ONLY_VOCABS
                             else ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
LLAMA_CPP = pathlib.Path(os.environ.get("KVSCOPE_CACHE", pathlib.Path.home() / ".cache" / "kvscope")) / "llama.cpp"
LLAMA_TOKENIZE = LLAMA_CPP / "build" / "bin" / "llama-tokenize"

# Control tokens (special) and one user-defined token (an added token that is not special).
BPE_CONTROL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
USER_DEFINED = "<think>"
GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")


def corpus():
    lines = (OUT_DIR / "corpus.txt").read_text(encoding="utf-8").split("\n")
    return [l.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r") for l in lines if l]


# --- the tiny byte-level BPE -----------------------------------------------------------------

def train_byte_level_bpe(texts):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, show_progress=False,
                                  special_tokens=[AddedToken(t, special=True) for t in BPE_CONTROL],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    tok.add_tokens([AddedToken(USER_DEFINED, special=False)])
    return tok


def with_pre_tokenizer(tok, pre):
    """The same vocabulary behind another pre-tokenizer, configured as the model families that
    llama.cpp calls `pre` configure theirs in tokenizer.json."""
    spec = json.loads(tok.to_str())
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    if pre == "gpt-2":
        spec["pre_tokenizer"] = byte_level
    elif pre == "smollm":
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, byte_level]}
    elif pre == "llama-bpe":
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
            dict(byte_level, use_regex=False)]}
        spec["model"]["ignore_merges"] = True
    return Tokenizer.from_str(json.dumps(spec))


def bpe_token_types(tok):
    types = [gguf.TokenType.NORMAL] * tok.get_vocab_size(with_added_tokens=True)
    for id_, added in tok.get_added_tokens_decoder().items():
        types[id_] = gguf.TokenType.CONTROL if added.special else gguf.TokenType.USER_DEFINED
    return types


def write_bpe_gguf(path, tok, pre, chat_template):
    spec = json.loads(tok.to_str())
    vocab = sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    writer = vocab_only_writer(path)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list([t for t, _ in vocab])
    writer.add_token_types(bpe_token_types(tok))
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tok.token_to_id("<|im_start|>"))
    writer.add_eos_token_id(tok.token_to_id("<|endoftext|>"))
    writer.add_add_bos_token(False)
    writer.add_chat_template(chat_template)
    finish(writer)


# --- the tiny SentencePiece BPE --------------------------------------------------------------

def train_sentencepiece(texts):
    model = io.BytesIO()
    # Llama 2's trainer settings: BPE, byte fallback, digits split, no normalization, a dummy
    # prefix and whitespace kept as it is. A character coverage below 1 leaves rare characters
    # to the byte fallback.
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, model_type="bpe", vocab_size=600,
        byte_fallback=True, split_digits=True, normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, character_coverage=0.98,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, user_defined_symbols=[USER_DEFINED], hard_vocab_limit=False,
        num_threads=1, minloglevel=2)
    return sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())


def spm_token_type(sp, i):
    if sp.is_unknown(i):
        return gguf.TokenType.UNKNOWN
    if sp.is_control(i):
        return gguf.TokenType.CONTROL
    if sp.is_unused(i):
        return gguf.TokenType.UNUSED
    if sp.is_byte(i):
        return gguf.TokenType.BYTE
    if sp.id_to_piece(i) == USER_DEFINED:  # the Python API has no IsUserDefined
        return gguf.TokenType.USER_DEFINED
    return gguf.TokenType.NORMAL


def write_spm_gguf(path, sp):
    ids = range(sp.get_piece_size())
    writer = vocab_only_writer(path)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([sp.id_to_piece(i) for i in ids])
    writer.add_token_scores([sp.get_score(i) for i in ids])
    writer.add_token_types([spm_token_type(sp, i) for i in ids])
    writer.add_bos_token_id(sp.bos_id())
    writer.add_eos_token_id(sp.eos_id())
    writer.add_unk_token_id(sp.unk_id())
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(True)
    writer.add_chat_template(LLAMA2_TEMPLATE)
    finish(writer)


# --- GGUF files holding only a vocabulary ----------------------------------------------------

def vocab_only_writer(path):
    # llama.cpp reads a model's hyperparameters even to load only its vocabulary: give tiny ones.
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(64)
    writer.add_embedding_length(8)
    writer.add_block_count(1)
    writer.add_feed_forward_length(16)
    writer.add_head_count(1)
    writer.add_layer_norm_rms_eps(1e-5)
    return writer


def finish(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# --- references ------------------------------------------------------------------------------

def hf_ids(tok, texts):
    """`tokenizers`' ids; "plain" asks it to split special tokens' text like any other text."""
    out = {"special": [tok.encode(t, add_special_tokens=False).ids for t in texts]}
    tok.encode_special_tokens = True
    out["plain"] = [tok.encode(t, add_special_tokens=False).ids for t in texts]
    tok.encode_special_tokens = False
    return out


def llama_cpp_ids(model, texts):
    out = {}
    for mode, flags in [("plain", ["--no-parse-special"]), ("special", [])]:
        out[mode] = []
        for text in texts:
            with tempfile.NamedTemporaryFile("wb", suffix=".txt") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                result = subprocess.run([str(LLAMA_TOKENIZE), "-m", str(model), "-f", f.name, "--ids", "--no-bos",
                                         "--no-escape", "--log-disable", *flags],
                                        check=True, capture_output=True, text=True)
            out[mode].append(json.loads(result.stdout.strip().splitlines()[-1]))
    return out



def to_json_lines(value):
    """JSON with each list of ids on one line, for readable diffs: the lists go through as
    placeholders, replaced once the rest is written."""
    id_lists = []

    def hide(v):
        if isinstance(v, dict):
            return {k: hide(x) for k, x in v.items()}
        if isinstance(v, list) and all(isinstance(x, int) for x in v) and v:
            id_lists.append(json.dumps(v, separators=(",", ":")))
            return f"@ids{len(id_lists) - 1}@"
        return [hide(x) for x in v] if isinstance(v, list) else v

    text = json.dumps(hide(value), ensure_ascii=False, indent=1)
    return re.sub(r'"@ids(\d+)@"', lambda m: id_lists[int(m.group(1))], text)


def add_llama_cpp_vocabs():
    vocabs = sorted((LLAMA_CPP / "src" / "models").glob("ggml-vocab-*.gguf"))
    if not LLAMA_TOKENIZE.exists() or not vocabs:
        sys.exit("llama-tokenize or llama.cpp's vocabularies missing: run scripts/build_llama_cpp.sh --source")
    path = OUT_DIR / "goldens.json"
    goldens = json.loads(path.read_text(encoding="utf-8"))
    for vocab in vocabs:
        name = vocab.name.removeprefix("ggml-vocab-").removesuffix(".gguf")
        print(f"llama-tokenize on {vocab.name}", file=sys.stderr)
        goldens["references"][f"vocab_{name}_llama_cpp"] = llama_cpp_ids(vocab, goldens["corpus"])
    path.write_text(to_json_lines(goldens) + "\n", encoding="utf-8")
    print(f"{len(vocabs)} vocabularies; wrote {path}")


def main():
    if ONLY_VOCABS:
        return add_llama_cpp_vocabs()
    if not DEFAULT_MODEL.exists():
        sys.exit(f"{DEFAULT_MODEL}: no such file (run scripts/fetch_model.sh, or pass the model's path)")
    texts = corpus()
    references = {}

    smol = AutoTokenizer.from_pretrained(DEFAULT_MODEL.parent, gguf_file=DEFAULT_MODEL.name)
    # transformers' GGUF loader knows no "smollm" pre-tokenizer and falls back to GPT-2's, which
    # lets a space merge with a digit such as "١". Give it SmolLM2's own (its tokenizer.json's).
    smol.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    references["default_model"] = {
        "special": [smol(t, add_special_tokens=False).input_ids for t in texts],
        "plain": [smol(t, add_special_tokens=False, split_special_tokens=True).input_ids for t in texts]}

    bpe = train_byte_level_bpe(texts)
    (OUT_DIR / "tiny_bpe").mkdir(exist_ok=True)
    bpe.save(str(OUT_DIR / "tiny_bpe" / "tokenizer.json"))
    ggufs = {"default_model": DEFAULT_MODEL}
    for pre, template in [("gpt-2", smol.chat_template), ("smollm", smol.chat_template), ("llama-bpe", LLAMA3_TEMPLATE)]:
        name = "tiny_bpe_" + pre.replace("-", "_")
        variant = with_pre_tokenizer(bpe, pre)
        ggufs[name] = OUT_DIR / f"{name}.gguf"
        write_bpe_gguf(ggufs[name], variant, pre, template)
        references[name] = hf_ids(variant, texts)

    sp = train_sentencepiece(texts)
    ggufs["tiny_spm"] = OUT_DIR / "tiny_spm.gguf"
    write_spm_gguf(ggufs["tiny_spm"], sp)
    # SentencePiece never parses control tokens in text: it has plain ids only.
    references["tiny_spm"] = {"plain": [sp.encode(t) for t in texts]}

    # The tiny models' checkpoint folders, whose tokenizer.json formats/hf_folder.cpp translates.
    for folder in ["tiny-llama-hf", "tiny-gpt2-hf", "tiny-llama-spm-hf"]:
        references[folder] = hf_ids(Tokenizer.from_file(str(MODELS_DIR / folder / "tokenizer.json")), texts)

    if LLAMA_TOKENIZE.exists():
        for name, path in ggufs.items():
            references[name + "_llama_cpp"] = llama_cpp_ids(path, texts)
    else:
        print(f"warning: {LLAMA_TOKENIZE} not built (scripts/build_llama_cpp.sh); no llama.cpp references",
              file=sys.stderr)

    out = {"corpus": texts, "references": references}
    path = OUT_DIR / "goldens.json"
    path.write_text(to_json_lines(out) + "\n", encoding="utf-8")
    print(f"{len(texts)} corpus lines, references: {', '.join(references)}; wrote {path}")


if __name__ == "__main__":
    main()
