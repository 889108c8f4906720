#!/usr/bin/env python3
"""kvscope.Tracker around a generation loop that kvscope does not run: here a plain Python loop
over model.logits (greedy, recomputing the whole sequence each step, as a minimal PyTorch-style
script does). It prints kvscope's metrics block and writes the run's JSON for `kvscope report`.

    python3 examples/tracker_loop.py [--tokens 16] [--out run.json]
    build/release/tools/kvscope/kvscope report run.json --out-dir plots
"""
import argparse

import kvscope


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--out", default="run.json")
    args = parser.parse_args()
    model = kvscope.Model(args.model)

    ids = model.tokenize("The capital of France is")
    tracker = kvscope.Tracker()
    tracker.start()
    tracker.log_token(len(ids), is_input=True)
    generated = []
    for i in range(args.tokens):
        next_id = int(model.logits(ids)[-1].argmax())  # your model's forward pass goes here
        if i == 0:
            tracker.log_first_token()
        tracker.log_token(1)
        tracker.log_step()
        ids.append(next_id)
        generated.append(next_id)
    tracker.stop()

    print(model.detokenize(generated))
    print(kvscope.format_metrics(tracker.metrics()))
    tracker.save(args.out)
    print(f"wrote {args.out}: kvscope report {args.out}")


if __name__ == "__main__":
    main()
