"""Bad input raises kvscope.Error with kvscope's one-line message; nothing crashes."""
import pytest

import kvscope


def raises(match):
    return pytest.raises(kvscope.Error, match=match)


def test_a_missing_file_is_named():
    with raises("no/such/model.gguf"):
        kvscope.Model("no/such/model.gguf")


def test_a_missing_default_model_names_the_fetch_script(monkeypatch):
    monkeypatch.setenv("KVSCOPE_MODEL", "/nonexistent/model.gguf")
    with raises(r"the default model is not there \(/nonexistent/model.gguf\); fetch it with: "
                r"scripts/fetch_model.sh"):
        kvscope.Model()


@pytest.mark.parametrize("prompt, kwargs, match", [
    ("", {}, "the prompt is empty"),
    ([], {}, "the prompt is empty"),
    ("Hi", {"cache": "lru"}, "unknown cache strategy 'lru'"),
    ("Hi", {"kv_type": "q4"}, "q4"),
    ("Hi", {"precision": "half"}, "unknown precision 'half'"),
    ("Hi", {"max_new_tokens": 0}, "max_new_tokens must be at least 1"),
    ("Hi", {"temperature": -1}, "temperature must be at least 0, not -1"),
    ("Hi", {"top_p": 1.5}, "top_p must be from 0 to 1, not 1.5"),
    ([1, 2, 10**7], {}, "outside the vocabulary"),
    (["Hi", ""], {}, "prompt 2: the prompt is empty"),
])
def test_bad_arguments(model, prompt, kwargs, match):
    with raises(match) as e:
        model.generate(prompt, **kwargs)
    assert "\n" not in str(e.value)


def test_bad_logits_and_tokens(model):
    with raises("nothing to score"):
        model.logits([])
    with raises("outside the vocabulary"):
        model.detokenize([-1])
    with pytest.raises(TypeError):
        model.generate(3.5)


def test_bad_bench_arguments(model):
    with raises("unknown cache strategy"):
        kvscope.bench.kv_compare(model, strategies=["fast"])
    with raises("at least 1"):
        kvscope.bench.sweep(model, batch=[0])
