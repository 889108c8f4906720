"""kvscope from Python: the C++ engine, its KV cache strategies and its metrics.

    import kvscope
    model = kvscope.Model()                      # the default model, or $KVSCOPE_MODEL
    print(model.generate("The capital of France is", max_new_tokens=16))
    for piece in model.stream("Once upon a time", max_new_tokens=32):
        print(piece.text, end="", flush=True)
    text, metrics = model.generate("Hello", return_metrics=True)
    print(kvscope.format_metrics(metrics))

Errors in what kvscope is given (files, prompts, options) raise kvscope.Error with kvscope's
one-line message. Ctrl-C during generate() or stream() stops the generation and keeps what was
generated.
"""
from kvscope._kvscope import Error, Piece
from kvscope.metrics import Metrics, Tracker, format_metrics
from kvscope.model import Model
from kvscope import bench

__all__ = ["Error", "Metrics", "Model", "Piece", "Tracker", "bench", "format_metrics"]
