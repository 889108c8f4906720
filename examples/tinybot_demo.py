#!/usr/bin/env python3
"""The TinyBot demo in Python: six questions in the chat template, each streamed with its
⚡ line, a performance summary, then the same questions without and with the KV cache.

    python3 examples/tinybot_demo.py [--model PATH] [--max-new-tokens 48]
"""
import argparse
import statistics
import sys

import kvscope

QUESTIONS = ["Hello!", "What is your name?", "What color is the sky?",
             "How many legs does a dog have?", "What is 2 plus 3?", "What do you use a pen for?"]


def ask(model, question, max_new_tokens, cache="paged", show=True):
    prompt = model.apply_chat_template([{"role": "user", "content": question}])
    pieces = []
    for piece in model.stream(prompt, max_new_tokens=max_new_tokens, cache=cache):
        pieces.append(piece)
        if show:
            print(piece.text, end="", flush=True)
    seconds = pieces[-1].time if pieces else 0.0
    return "".join(p.text for p in pieces), sum(p.tokens for p in pieces), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    args = parser.parse_args()
    model = kvscope.Model(args.model)
    questions = QUESTIONS[:args.questions]

    speeds = []
    for q in questions:
        print(f"Q: {q}\nA: ", end="")
        _, tokens, seconds = ask(model, q, args.max_new_tokens)
        speeds.append(tokens / seconds if seconds > 0 else 0.0)
        print(f"\n⚡ {speeds[-1]:.1f} tok/s | 📊 {tokens} tokens | ⏱️  {seconds:.3f}s\n")

    print("⚡ Generation Performance Summary")
    print(f"  questions          {len(questions)}")
    print(f"  mean speed         {statistics.mean(speeds):.1f} tok/s")
    print(f"  slowest / fastest  {min(speeds):.1f} / {max(speeds):.1f} tok/s\n")

    print("Without and with the KV cache:")
    identical = True
    totals = {}
    for cache in ("none", "paged"):
        answers, seconds = [], 0.0
        for q in questions:
            prompt = model.apply_chat_template([{"role": "user", "content": q}])
            text, m = model.generate(prompt, max_new_tokens=args.max_new_tokens, cache=cache,
                                     return_metrics=True)
            answers.append(text)
            seconds += m.e2e_s
        totals[cache] = (answers, seconds)
        print(f"  {cache:>5}: {seconds:.3f} s")
    identical = totals["none"][0] == totals["paged"][0]
    print(f"  speedup {totals['none'][1] / totals['paged'][1]:.2f}×, answers "
          f"{'identical' if identical else 'DIFFER'}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
