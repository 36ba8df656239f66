"""Varied English sentences for the corpus: statements, questions, lists, numbers, names, dates.

Everything is drawn from a seeded ``numpy.random.Generator`` so a corpus is reproducible. The
vocabulary is hand-picked to cover every ARPAbet phoneme in many contexts (bilabials, labiodentals,
rounded vowels next to consonant clusters, dentals, postalveolars), and sentences mix short
commands with long, comma-separated lists so pauses of every length occur.
``coverage(phone_lists)`` reports phoneme and diphone coverage.
"""
import itertools

import numpy as np

from .phonemes import PHONES, SILENCE, parse_label

NAMES = ["Maria", "Bob", "Fiona", "Theo", "Judith", "Owen", "Ruth", "Vivian", "Zachary", "Chloe",
         "George", "Pablo", "Yusuf", "Hannah", "Wendy", "Marcus", "Beth", "Kofi", "Ingrid", "Rupert",
         "Shauna", "Victor", "Nguyen", "Aoife", "Dmitri", "Priya", "Lukas", "Amelia", "Joshua", "Moira"]
PLACES = ["Boston", "the valley", "Edinburgh", "Mumbai", "the old mill", "Vancouver", "Lisbon",
          "the museum", "Brooklyn", "the harbour", "Phoenix", "the zoo", "Cape Town", "the bakery",
          "Thimphu", "the garage", "Oslo", "Memphis", "the school gym", "Wellington"]
NOUNS = ["apple", "window", "budget", "voyage", "thimble", "feather", "rubber boot", "pizza", "mirror",
         "journey", "garage", "measure", "orange", "bicycle", "puzzle", "umbrella", "whistle", "oven",
         "cushion", "engine", "treasure", "violin", "bottle", "ship", "moon", "pebble", "fountain",
         "blueberry", "map", "jacket", "cheese", "wolf", "bridge", "photograph", "hammock", "yoghurt",
         "zipper", "shoe", "thought", "booth", "mouth", "pumpkin", "vase", "wheel", "lamp", "rope",
         "cloud", "bird", "castle", "pocket", "furniture", "television", "sandwich", "noodle", "ruby"]
ADJS = ["blue", "smooth", "broken", "awful", "heavy", "proud", "bumpy", "fragile", "wooden",
        "ancient", "yellow", "vivid", "gloomy", "shiny", "bitter", "frozen", "thick", "cheap",
        "enormous", "tiny", "purple", "beautiful", "ordinary", "strange", "quiet", "loud", "soft"]
VERBS_PAST = ["moved", "bought", "found", "pushed", "washed", "fixed", "borrowed", "measured",
              "painted", "threw", "judged", "chose", "loved", "shipped", "rubbed", "wove", "booked",
              "forgot", "polished", "dropped", "followed", "mapped", "carried", "opened", "cooked"]
VERBS = ["move", "buy", "find", "push", "wash", "fix", "borrow", "measure", "paint", "throw",
         "judge", "choose", "love", "ship", "rub", "book", "forget", "polish", "drop", "follow",
         "carry", "open", "cook", "visit", "bring", "share", "watch", "feel", "view", "fetch"]
ADVS = ["quickly", "very slowly", "without a word", "on purpose", "before breakfast", "after the show",
        "every Thursday", "twice", "by mistake", "with both hands", "in the morning", "at midnight"]
TIMES = ["yesterday", "last summer", "on Monday", "this afternoon", "in nineteen ninety-nine",
         "at half past four", "two weeks ago", "tomorrow", "on the fifth of June", "every year"]
INTERJ = ["Oh", "Well", "Look", "Hmm", "Wow", "Honestly", "You know", "Actually", "Listen", "Right"]
UNITS = ["dollars", "metres", "people", "boxes", "minutes", "pounds", "miles", "votes", "photos"]
RICH = [  # short phonetically dense lines (Harvard-style, written for this project)
    "The vivid puppet moved beneath the blue moon.", "Five brave women fought with the old wolf.",
    "Judge the measure of the beige treasure.", "Thin thieves breathe through their mouths.",
    "Bob bought a bubbly ruby for Ruth.", "Push the wooden shoe through the booth.",
    "Fetch the cheap cheese from the church.", "Vera valued the velvet voice of Victor.",
    "Mum made more mango mousse for my mother.", "Who knew the zoo was through the woods?",
    "Pam popped a purple balloon by the pool.", "Few of the foolish views were useful.",
    "Why would you ever want to move to Oslo?", "Look, the yellow yacht is almost home.",
    "Shh, the sheep are sleeping in the shed.", "Judy enjoyed the jazz on the bridge.",
    "The thick fog rolled over the harbour wall.", "Our loyal boy toyed with the oily coin.",
    "How loud the crowd was around the fountain!", "Either way, the weather will be awful.",
]


def _num_words(n):
    ones = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
            "nineteen"]
    tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    if n < 20:
        return ones[n]
    if n < 100:
        return tens[n // 10] + ("" if n % 10 == 0 else "-" + ones[n % 10])
    if n < 1000:
        rest = n % 100
        return ones[n // 100] + " hundred" + ("" if rest == 0 else " and " + _num_words(rest))
    return _num_words(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + _num_words(n % 1000))


class TextGenerator:
    def __init__(self, rng):
        self.rng = rng

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def number(self):
        n = int(self.rng.choice([self.rng.integers(0, 20), self.rng.integers(20, 100),
                                 self.rng.integers(100, 10000)]))
        return str(n) if self.rng.random() < 0.5 else _num_words(n)

    def np_(self):
        r = self.rng.random()
        noun = self.pick(NOUNS)
        if r < 0.35:
            return f"the {self.pick(ADJS)} {noun}"
        if r < 0.55:
            return f"{self.pick(NAMES)}'s {noun}"
        if r < 0.7:
            return f"{self.number()} {self.pick(UNITS)}"
        return ("an " if noun[0] in "aeiou" else "a ") + noun

    def items(self, n):
        xs = [self.np_() for _ in range(n)]
        return ", ".join(xs[:-1]) + (", and " if n > 2 else " and ") + xs[-1]

    def sentence(self):
        r = self.rng.random()
        name = self.pick(NAMES)
        if r < 0.2:
            s = f"{name} {self.pick(VERBS_PAST)} {self.np_()} {self.pick(ADVS)}."
        elif r < 0.32:
            s = f"{self.pick(['Did', 'Why did', 'When did', 'Where did', 'How did'])} {name} " \
                f"{self.pick(VERBS)} {self.np_()}?"
        elif r < 0.42:
            s = f"We {self.pick(VERBS_PAST)} {self.items(int(self.rng.integers(3, 6)))} {self.pick(TIMES)}."
        elif r < 0.52:
            s = f"It costs {self.number()} {self.pick(UNITS)}, not {self.number()}."
        elif r < 0.6:
            s = f"{self.pick(INTERJ)}, {name.lower() if False else name}, " \
                f"{self.pick(['could you', 'would you', 'please', 'never'])} {self.pick(VERBS)} {self.np_()}!"
        elif r < 0.68:
            s = f"Call {name} at {self.number()} {self.number()} {self.number()}, or write to {self.pick(PLACES)}."
        elif r < 0.76:
            s = f"{self.pick(TIMES).capitalize()}, {name} and {self.pick(NAMES)} drove to {self.pick(PLACES)} " \
                f"to {self.pick(VERBS)} {self.np_()}."
        elif r < 0.84:
            s = self.pick(RICH)
        elif r < 0.9:
            s = f"Is {self.np_()} {self.pick(ADJS)}, or is it {self.pick(ADJS)}?"
        else:
            s = f"{name} said that {self.np_()} was {self.pick(ADJS)} and {self.pick(ADJS)}, " \
                f"which nobody in {self.pick(PLACES)} believed."
        return s[0].upper() + s[1:]

    def utterance(self, min_words=4, max_words=40):
        """One to three sentences; length varies from a short phrase to a paragraph."""
        n = int(self.rng.choice([1, 1, 1, 2, 2, 3]))
        out = []
        for _ in range(n):
            out.append(self.sentence())
            if len(" ".join(out).split()) >= max_words:
                break
        return " ".join(out)


def coverage(phone_lists):
    """Phoneme and diphone counts over lists of ARPAbet phones (stress stripped, silences kept).

    Returns dict(phone_counts, diphone_counts, phone_coverage, diphone_coverage, missing_phones).
    """
    pc, dc = {}, {}
    for phones in phone_lists:
        bases = [parse_label(p[2] if isinstance(p, (tuple, list)) else p)[0] for p in phones]
        for b in bases:
            pc[b] = pc.get(b, 0) + 1
        for a, b in zip(bases, bases[1:]):
            dc[(a, b)] = dc.get((a, b), 0) + 1
    speech = [p for p in PHONES if p != SILENCE]
    possible = list(itertools.product(speech, speech))
    return {
        "phone_counts": pc,
        "diphone_counts": dc,
        "phone_coverage": sum(1 for p in speech if pc.get(p)) / len(speech),
        "diphone_coverage": sum(1 for d in possible if dc.get(d)) / len(possible),
        "missing_phones": [p for p in speech if not pc.get(p)],
    }
