"""The server through the official `openai` client: text, streams, usage, stops, seeds, logprobs,
and every request's output equal to its run alone, at 1, 8 and 32 concurrent streams."""
from concurrent.futures import ThreadPoolExecutor

from conftest import run_offline

PROMPT = "The capital of France is"


def stream_text(chunks):
    return "".join(c.choices[0].text for c in chunks if c.choices)


def test_completion_equals_offline_run_streamed_or_not(client):
    whole = client.completions.create(model="m", prompt=PROMPT, max_tokens=24, temperature=0)
    chunks = list(client.completions.create(model="m", prompt=PROMPT, max_tokens=24,
                                            temperature=0, stream=True))
    assert whole.choices[0].text == run_offline(PROMPT, 24)
    assert stream_text(chunks) == whole.choices[0].text
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason
    assert whole.usage.completion_tokens <= 24
    assert whole.model_extra["timings"]["predicted_n"] == whole.usage.completion_tokens


def test_chat_equals_offline_chat_run(client):
    messages = [{"role": "user", "content": "What is 2 plus 3?"}]
    whole = client.chat.completions.create(model="m", messages=messages, max_tokens=20,
                                           temperature=0)
    chunks = list(client.chat.completions.create(model="m", messages=messages, max_tokens=20,
                                                 temperature=0, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert whole.choices[0].message.content == run_offline("What is 2 plus 3?", 20, "--chat")
    assert streamed == whole.choices[0].message.content
    assert whole.object == "chat.completion"


def test_include_usage_sends_a_usage_chunk_last(client):
    chunks = list(client.completions.create(model="m", prompt=PROMPT, max_tokens=5, temperature=0,
                                            stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert usage.completion_tokens == 5
    assert usage.total_tokens == usage.prompt_tokens + 5
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert all(c.usage is None for c in chunks[:-1])


def test_stop_strings_end_the_text_before_them(client):
    free = client.completions.create(model="m", prompt=PROMPT, max_tokens=24, temperature=0)
    word = free.choices[0].text.split()[2]
    cut = client.completions.create(model="m", prompt=PROMPT, max_tokens=24, temperature=0,
                                    stop=[word])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].text == free.choices[0].text[:free.choices[0].text.index(word)]


def test_seeds_repeat_and_differ(client):
    def sample(seed):
        return client.completions.create(model="m", prompt="Once upon a time", max_tokens=16,
                                         temperature=1.0, seed=seed).choices[0].text
    assert sample(3) == sample(3)
    assert len({sample(s) for s in range(4)}) > 1
    assert sample(3) == run_offline("Once upon a time", 16, "--temp", "1", "--seed", "3")


def test_logprobs(client):
    r = client.completions.create(model="m", prompt=PROMPT, max_tokens=6, temperature=0,
                                  logprobs=3)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == 6 and len(lp.top_logprobs) == 6
    assert "".join(lp.tokens) == r.choices[0].text
    for chosen, best, top in zip(lp.token_logprobs, lp.tokens, lp.top_logprobs):
        assert chosen <= 0 and len(top) == 3
        assert max(top.values()) == chosen  # greedy takes the most likely
    chat = client.chat.completions.create(model="m", max_tokens=4, temperature=0, logprobs=True,
                                          top_logprobs=2,
                                          messages=[{"role": "user", "content": "Hi"}])
    content = chat.choices[0].logprobs.content
    assert len(content) >= 1 and all(len(t.top_logprobs) == 2 for t in content)


def test_models_lists_the_served_model(client):
    models = client.models.list().data
    assert len(models) == 1 and models[0].id.startswith("SmolLM2")


def one_request(client, i):
    """Streams request i (greedy when even, seeded sampling when odd): its text and logprobs."""
    chunks = client.completions.create(
        model="m", prompt=f"Item {i}: a short story about the number {i * 7}.", max_tokens=12,
        temperature=0 if i % 2 == 0 else 0.8, seed=i, logprobs=1, stream=True)
    text, logprobs = "", []
    for c in chunks:
        text += c.choices[0].text
        if c.choices[0].logprobs:
            logprobs += c.choices[0].logprobs.token_logprobs
    return text, logprobs


def test_concurrent_streams_equal_each_alone(client, server):
    n = 32
    alone = [one_request(client, i) for i in range(n)]
    for concurrency in (8, 32):
        with ThreadPoolExecutor(concurrency) as pool:
            together = list(pool.map(lambda i: one_request(client, i), range(n)))
        assert together == alone, f"outputs differ at {concurrency} concurrent streams"
    server.wait_idle()
