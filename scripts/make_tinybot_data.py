#!/usr/bin/env python3
"""Writes data/tinybot_chat.jsonl: TinyBot's chat dataset, short questions and answers written
for kvscope train (greetings, its name, colours, animals' legs, sums and differences, what
things are for, capitals, opposites, animal sounds, days, the KV cache, and small talk).

Each line is {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}; kvscope train
renders it in the ChatML template. Deterministic (fixed seed); run from anywhere:
    python3 scripts/make_tinybot_data.py
"""
import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "tinybot_chat.jsonl"
rng = random.Random(17)
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve"]

GREETINGS = ["Hello!", "Hi!", "Hey!", "Hello there!", "Hi there!", "Good morning!", "Good evening!",
             "Hey there!", "Hello, TinyBot!", "Hi, TinyBot!", "Greetings!", "Good afternoon!"]
GREETING_ANSWERS = ["Hello! I am TinyBot. How can I help you today?",
                    "Hi! I am TinyBot, a small chatbot. What would you like to know?",
                    "Hello! Nice to meet you. Ask me a question!"]
NAME_QUESTIONS = ["What is your name?", "Who are you?", "What are you called?", "Tell me your name.",
                  "What should I call you?", "Do you have a name?", "What's your name?"]
NAME_ANSWERS = ["My name is TinyBot.", "I am TinyBot, a small chatbot.",
                "My name is TinyBot. I am a tiny language model."]
SMALL_TALK = {
    "How are you?": ["I am fine, thank you! How are you?", "I am doing well, thanks for asking!"],
    "Thank you!": ["You are welcome!", "You're welcome! Happy to help."],
    "Thanks!": ["You are welcome!", "No problem!"],
    "Goodbye!": ["Goodbye! Have a nice day.", "Bye! See you soon."],
    "Bye!": ["Bye! Have a nice day.", "Goodbye! See you soon."],
    "What can you do?": ["I can answer short questions about colors, animals, numbers and things."],
    "Are you a robot?": ["I am a chatbot, a small computer program that answers questions."],
    "Who made you?": ["I was trained with kvscope, on a small chat dataset."],
    "How old are you?": ["I am very young. I was trained only a few minutes ago."],
    "Where do you live?": ["I live inside a computer."],
    "Do you like music?": ["I cannot hear music, but many people love it."],
    "Tell me a joke.": ["Why did the cat sit on the computer? To keep an eye on the mouse!"],
    "What is a KV cache?": ["A KV cache keeps the keys and values of past tokens, so the model "
                            "does not compute them again for every new token."],
    "Why is the KV cache fast?": ["With a KV cache each new token computes its own keys and values "
                                  "only, instead of the whole conversation again."],
    "What is a token?": ["A token is a small piece of text, like a word or a part of a word."],
}
COLORS = {"sky": "blue", "grass": "green", "sun": "yellow", "snow": "white", "banana": "yellow",
          "apple": "red", "coal": "black", "orange": "orange", "strawberry": "red", "leaf": "green",
          "cloud": "white", "ocean": "blue", "tomato": "red", "milk": "white", "carrot": "orange",
          "lemon": "yellow", "chocolate": "brown", "night sky": "black", "frog": "green",
          "crow": "black", "lime": "green", "cherry": "red", "pumpkin": "orange", "sea": "blue",
          "tree trunk": "brown", "polar bear": "white", "fire truck": "red", "eggplant": "purple",
          "grape": "purple", "flamingo": "pink"}
COLOR_QUESTIONS = ["What color is the {x}?", "What colour is the {x}?", "What color is a {x}?",
                   "Tell me the color of the {x}.", "Which color is the {x}?"]
COLOR_ANSWERS = ["The {x} is {c}.", "The {x} is {c}.", "It is {c}."]
LEGS = {"dog": 4, "cat": 4, "horse": 4, "cow": 4, "bird": 2, "chicken": 2, "duck": 2, "spider": 8,
        "ant": 6, "bee": 6, "fish": 0, "snake": 0, "person": 2, "frog": 4, "lion": 4,
        "elephant": 4, "sheep": 4, "beetle": 6, "goat": 4, "pig": 4, "owl": 2, "butterfly": 6,
        "mouse": 4, "tiger": 4, "penguin": 2, "crab": 10, "worm": 0, "rabbit": 4, "fly": 6,
        "giraffe": 4}
LEG_QUESTIONS = ["How many legs does a {x} have?", "How many legs has a {x}?",
                 "How many legs does the {x} have?", "Count the legs of a {x}."]
USES = {"pen": "to write", "pencil": "to write and draw", "cup": "to drink", "knife": "to cut food",
        "spoon": "to eat soup", "key": "to open a door", "chair": "to sit on", "bed": "to sleep",
        "umbrella": "to stay dry in the rain", "phone": "to call people", "book": "to read",
        "broom": "to sweep the floor", "toothbrush": "to brush your teeth",
        "hammer": "to hit nails", "scissors": "to cut paper", "clock": "to tell the time",
        "soap": "to wash your hands", "oven": "to bake food", "car": "to drive",
        "bicycle": "to ride", "towel": "to dry yourself", "fork": "to eat", "ladder": "to climb",
        "map": "to find the way", "brush": "to paint", "pillow": "to rest your head",
        "bucket": "to carry water", "lamp": "to make light", "ruler": "to measure lines",
        "camera": "to take photos"}
USE_QUESTIONS = ["What do you use a {x} for?", "What is a {x} for?", "What is a {x} used for?",
                 "Why do people use a {x}?"]
CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid",
            "Germany": "Berlin", "England": "London", "Egypt": "Cairo", "Russia": "Moscow",
            "China": "Beijing", "Canada": "Ottawa", "Greece": "Athens", "Kenya": "Nairobi",
            "Peru": "Lima", "Norway": "Oslo", "Portugal": "Lisbon"}
OPPOSITES = {"hot": "cold", "big": "small", "up": "down", "day": "night", "fast": "slow",
             "happy": "sad", "open": "closed", "light": "dark", "old": "young", "wet": "dry",
             "left": "right", "full": "empty", "loud": "quiet", "hard": "soft", "early": "late"}
SOUNDS = {"dog": "barks", "cat": "meows", "cow": "moos", "duck": "quacks", "lion": "roars",
          "sheep": "baas", "horse": "neighs", "owl": "hoots", "pig": "oinks", "bee": "buzzes",
          "snake": "hisses", "frog": "croaks"}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def a(x):  # the article of a noun
    return ("an " if x[0] in "aeiou" else "a ") + x


def legs_answer(x, n):
    return f"{a(x).capitalize()} has no legs." if n == 0 else f"{a(x).capitalize()} has {NUMBERS[n]} legs."


def examples():
    for q in GREETINGS:
        for ans in rng.sample(GREETING_ANSWERS, 2):
            yield q, ans
    for q in NAME_QUESTIONS:
        for ans in rng.sample(NAME_ANSWERS, 2):
            yield q, ans
    for q, answers in SMALL_TALK.items():
        for ans in answers:
            yield q, ans
    for x, c in COLORS.items():
        for q in rng.sample(COLOR_QUESTIONS, 3):
            yield q.format(x=x), rng.choice(COLOR_ANSWERS).format(x=x, c=c)
    for x, n in LEGS.items():
        for q in rng.sample(LEG_QUESTIONS, 3):
            yield q.format(x=x), legs_answer(x, n)
    for x, use in USES.items():
        for q in rng.sample(USE_QUESTIONS, 3):
            yield q.format(x=x), f"You use {a(x)} {use}."
    for i in range(0, 13):
        for j in range(0, 13):
            q = rng.choice(["What is {i} plus {j}?", "What is {i} + {j}?", "How much is {i} plus {j}?"])
            yield q.format(i=i, j=j), f"{i} plus {j} is {i + j}."
            if i >= j and rng.random() < 0.5:
                yield f"What is {i} minus {j}?", f"{i} minus {j} is {i - j}."
            if i <= 6 and j <= 6 and rng.random() < 0.5:
                yield f"What is {i} times {j}?", f"{i} times {j} is {i * j}."
    for country, city in CAPITALS.items():
        yield f"What is the capital of {country}?", f"The capital of {country} is {city}."
        yield f"Which city is the capital of {country}?", f"{city} is the capital of {country}."
    for x, y in OPPOSITES.items():
        yield f"What is the opposite of {x}?", f"The opposite of {x} is {y}."
        yield f"What is the opposite of {y}?", f"The opposite of {y} is {x}."
    for x, s in SOUNDS.items():
        yield f"What sound does {a(x)} make?", f"{a(x).capitalize()} {s}."
        yield f"What does {a(x)} say?", f"{a(x).capitalize()} {s}."
    for i, d in enumerate(DAYS):
        yield f"What day comes after {d}?", f"After {d} comes {DAYS[(i + 1) % 7]}."
        yield f"What day comes before {d}?", f"Before {d} comes {DAYS[(i - 1) % 7]}."
    for n in range(0, 12):
        yield f"What number comes after {n}?", f"After {n} comes {n + 1}."
        yield f"How do you write {n} in words?", f"{n} is written {NUMBERS[n]}."


def main():
    rows = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]}
            for q, ans in examples()]
    rng.shuffle(rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(rows)} conversations")


if __name__ == "__main__":
    main()
