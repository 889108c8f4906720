"""kvscope.Model: a loaded model, generation on kvscope's engine, and teacher-forced logits."""
from __future__ import annotations

import json
import os
from typing import Iterator, Sequence, Union

import numpy as np

from kvscope import _kvscope
from kvscope.metrics import Metrics

Prompt = Union[str, Sequence[int]]


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _is_ids(prompt) -> bool:
    return not isinstance(prompt, str) and all(isinstance(t, (int, np.integer)) for t in prompt)


class Model:
    """A model file loaded once (read-only), shared by every generation.

    Model(path=None, threads=None, precision="fast"): path is a GGUF file or a Hugging Face
    folder; None loads the default model (or $KVSCOPE_MODEL) and, when it has not been fetched,
    raises kvscope.Error naming scripts/fetch_model.sh. threads defaults to the cores this
    process may use. precision "fast" quantizes activations to 8 bits as llama.cpp does, with the
    rounding error of each row's two blocks of largest scale multiplied too, "int8" without
    those blocks, "split"
    gives each activation row as two 8-bit rows (its rounding and that rounding's error: about 15
    bits, near-exact logits for twice the integer products), "exact" keeps them f32 as
    transformers does.

    Threads: one Model may be used from several Python threads at once. Each generate(),
    stream() and logits() call runs on an engine (thread pool, KV cache) of its own and releases
    the GIL while it computes; the model's weights and tokenizer are only read. Peak RSS in the
    metrics is the process's, so concurrent calls see each other's memory.
    """

    def __init__(self, path: str | os.PathLike | None = None, threads: int | None = None,
                 precision: str = "fast"):
        self._native = _kvscope.Model.load("" if path is None else os.fspath(path))
        self.threads = _default_threads() if threads is None else int(threads)
        self.precision = precision
        self.config: dict = json.loads(self._native.config_json())

    @property
    def path(self) -> str:
        return self._native.path

    def __repr__(self) -> str:
        return f"kvscope.Model({self.path!r}, threads={self.threads}, precision={self.precision!r})"

    def tokenize(self, text: str, special: bool = True, add_bos: bool = True) -> list[int]:
        """Token ids of text; special parses control tokens such as <|im_start|> written in it;
        add_bos prepends the BOS token when the model asks for one."""
        return self._native.tokenize(text, special, add_bos)

    def detokenize(self, ids: Sequence[int]) -> str:
        """The text of ids (bytes that do not form whole UTF-8 characters become U+FFFD)."""
        return self._native.detokenize([int(t) for t in ids]).decode("utf-8", "replace")

    def apply_chat_template(self, messages: Sequence[dict], add_generation_prompt: bool = True
                            ) -> str:
        """The prompt text of messages ([{"role": "user", "content": "Hi"}, ...]) in the model's
        chat template, with its default system prompt, as `kvscope run --chat` builds it."""
        pairs = [(m["role"], m["content"]) for m in messages]
        return self._native.chat_prompt(pairs, add_generation_prompt)

    def logits(self, ids: Sequence[int], precision: str | None = None) -> np.ndarray:
        """Logits at every position of ids fed as one sequence (teacher forcing), a float32 array
        of shape (len(ids), vocab_size) that owns kvscope's buffer (no copy)."""
        return self._native.logits([int(t) for t in ids], precision or self.precision,
                                   self.threads)

    def _prompts(self, prompt) -> tuple[list[list[int]], bool]:
        """The batch of token ids, and whether a batch (a list of prompts) was given."""
        def encode(p) -> list[int]:
            if isinstance(p, str):
                return self.tokenize(p)
            if _is_ids(p):
                return [int(t) for t in p]
            raise TypeError(f"a prompt is a str or a list of token ids, not {type(p).__name__}")

        if isinstance(prompt, str) or (len(prompt) > 0 and _is_ids(prompt)):
            return [encode(prompt)], False
        if len(prompt) == 0:
            raise _kvscope.Error("the prompt is empty")
        return [encode(p) for p in prompt], True

    def _start(self, prompt, max_new_tokens, temperature, top_k, top_p, min_p, repeat_penalty,
               seed, stop, cache, kv_type, block_size, prefix_cache, precision):
        prompts, batch = self._prompts(prompt)
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        gen = _kvscope.Generation(self._native, prompts, max_new_tokens, temperature, top_k, top_p,
                                  min_p, repeat_penalty, seed, stops, cache, kv_type,
                                  precision or self.precision, self.threads, block_size,
                                  prefix_cache)
        return gen, batch

    def generate(self, prompt: Prompt | Sequence[Prompt], max_new_tokens: int = 128, *,
                 temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
                 min_p: float = 0.0, repeat_penalty: float = 1.0, seed: int = 0,
                 stop: str | Sequence[str] | None = None, cache: str = "paged",
                 kv_type: str = "f32", block_size: int = 16, prefix_cache: bool = False,
                 precision: str | None = None, return_metrics: bool = False):
        """Generates after prompt: a str (tokenized with control tokens parsed and BOS), a list
        of token ids, or a list of prompts, run as one batch on the engine (each stops on its
        own). Returns the text (a list for a list), or (text, Metrics) with return_metrics (a list
        of Metrics for a list).

        Sampling, as `kvscope run`: temperature 0 is greedy; top_k 0, top_p 1, min_p 0 and
        repeat_penalty 1 are off; seed fixes the draws. stop ends a sequence at that text (left
        out). cache is none, concat, prealloc or paged; kv_type f32, f16 or q8_0; block_size and
        prefix_cache are the paged cache's. Ctrl-C stops every sequence and returns what was
        generated (Metrics.stop_reason is "cancelled").
        """
        gen, batch = self._start(prompt, max_new_tokens, temperature, top_k, top_p, min_p,
                                 repeat_penalty, seed, stop, cache, kv_type, block_size,
                                 prefix_cache, precision)
        try:
            while gen.step():
                gen.take_pieces()
        except KeyboardInterrupt:
            gen.cancel()
        texts = [gen.text(i).decode("utf-8", "replace") for i in range(len(gen))]
        if not return_metrics:
            return texts if batch else texts[0]
        metrics = [_metrics(gen, i) for i in range(len(gen))]
        return (texts, metrics) if batch else (texts[0], metrics[0])

    def stream(self, prompt: Prompt | Sequence[Prompt], max_new_tokens: int = 128, *,
               temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
               min_p: float = 0.0, repeat_penalty: float = 1.0, seed: int = 0,
               stop: str | Sequence[str] | None = None, cache: str = "paged",
               kv_type: str = "f32", block_size: int = 16, prefix_cache: bool = False,
               precision: str | None = None) -> Iterator[_kvscope.Piece]:
        """generate()'s arguments; yields each piece of text as it becomes showable: a Piece with
        .text, .token (the id that completed it), .seq (the prompt's index in a batch) and .time
        (seconds since the generation started). The pieces of a sequence join to generate()'s
        text. Ctrl-C, or leaving the loop, ends the generation."""
        gen, _ = self._start(prompt, max_new_tokens, temperature, top_k, top_p, min_p,
                             repeat_penalty, seed, stop, cache, kv_type, block_size, prefix_cache,
                             precision)
        try:
            while gen.step():
                yield from gen.take_pieces()
            yield from gen.take_pieces()
        except KeyboardInterrupt:
            pass  # the stream ends; the pieces yielded stay with the caller
        finally:
            gen.cancel()


def _metrics(gen: _kvscope.Generation, i: int) -> Metrics:
    """The sequence's Metrics, with what it generated besides the figures: output_ids (an end
    token left out) and stop_reason ("end token", "stop string", "max tokens", "context full" or
    "cancelled")."""
    m = Metrics(gen.metrics(i), i + 1, len(gen))
    m.__dict__.update(output_ids=gen.ids(i), stop_reason=gen.stop_reason(i))
    return m
