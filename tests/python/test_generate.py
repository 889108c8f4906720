"""generate() and stream() against `kvscope run`, against themselves batched and alone, and
Ctrl-C."""
import _thread
import json
import threading

import kvscope

PROMPT = "The capital of France is"
PROMPTS = ["The capital of France is", "Once upon a time, there was a little", "def fibonacci(n):"]


def test_generate_gives_the_cli_text(model, cli):
    text = model.generate(PROMPT, max_new_tokens=16)
    assert text
    assert cli("run", "-p", PROMPT, "-n", "16", "-t", "2") == text + "\n"


def test_sampling_gives_the_cli_text(model, cli):
    args = dict(temperature=0.8, top_k=40, top_p=0.95, seed=7)
    text = model.generate(PROMPT, max_new_tokens=12, **args)
    assert cli("run", "-p", PROMPT, "-n", "12", "--temp", "0.8", "--top-k", "40", "--top-p",
               "0.95", "--seed", "7") == text + "\n"
    assert model.generate(PROMPT, max_new_tokens=12, **args) == text


def test_chat_template_gives_the_cli_chat(model, cli):
    prompt = model.apply_chat_template([{"role": "user", "content": "What is 2 plus 3?"}])
    assert prompt.count("<|im_start|>") == 3  # the default system prompt, the user, the answer
    assert cli("run", "--chat", "-p", "What is 2 plus 3?", "-n", "12") == \
        model.generate(prompt, max_new_tokens=12) + "\n"


def test_ids_are_the_bench_suites_ids(model, cli, tmp_path):
    out = tmp_path / "kv.json"
    cli("bench", "kv-compare", "--prompt-tokens", "12", "--new-tokens", "6", "-r", "1",
        "--warmup", "0", "--strategies", "prealloc", "--no-log", "--json", str(out))
    want = json.loads(out.read_text())["strategies"][0]["output_ids"]
    prompt = kvscope.bench.benchmark_prompt(model, 12)
    for cache in ("none", "concat", "prealloc", "paged"):
        _, m = model.generate(prompt, max_new_tokens=6, cache=cache, return_metrics=True)
        assert m.output_ids == want, cache


def test_a_batch_gives_each_prompt_alone(model):
    alone = [model.generate(p, max_new_tokens=10) for p in PROMPTS]
    assert model.generate(PROMPTS, max_new_tokens=10) == alone
    ids = [model.tokenize(p) for p in PROMPTS]
    texts, metrics = model.generate(ids, max_new_tokens=10, return_metrics=True)
    assert texts == alone
    assert [m.input_tokens for m in metrics] == [len(i) for i in ids]


def test_stream_pieces_join_to_the_text(model):
    pieces = list(model.stream(PROMPT, max_new_tokens=16))
    text, m = model.generate(PROMPT, max_new_tokens=16, return_metrics=True)
    assert "".join(p.text for p in pieces) == text
    # Each piece counts the tokens it took, so a stream's tok/s counts tokens, not pieces.
    assert sum(p.tokens for p in pieces) == len(m.output_ids)
    times = [p.time for p in pieces]
    assert times == sorted(times) and times[0] > 0
    batch = list(model.stream(PROMPTS[:2], max_new_tokens=8))
    for seq, prompt in enumerate(PROMPTS[:2]):
        assert "".join(p.text for p in batch if p.seq == seq) == \
            model.generate(prompt, max_new_tokens=8)


def test_stop_string_ends_the_text(model):
    full = model.generate(PROMPT, max_new_tokens=16)
    word = full.split()[1]
    text, m = model.generate(PROMPT, max_new_tokens=16, stop=word, return_metrics=True)
    assert full.startswith(text) and word not in text
    assert m.stop_reason == "stop string"


def test_ctrl_c_keeps_what_was_generated(model):
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    text, m = model.generate("Once upon a time", max_new_tokens=2000, return_metrics=True)
    timer.cancel()
    assert m.stop_reason == "cancelled"
    assert 0 < len(m.output_ids) < 2000
    assert model.detokenize(m.output_ids) == text


def test_one_model_from_several_threads(model):
    want = [model.generate(p, max_new_tokens=8) for p in PROMPTS]
    got = [None] * len(PROMPTS)

    def work(i):
        got[i] = model.generate(PROMPTS[i], max_new_tokens=8)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(PROMPTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == want
