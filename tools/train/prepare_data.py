#!/usr/bin/python3
"""Builds the training text and the tokenizer for tern's embedded TinyStories model.

Casing: 3.2 MB of the 4.2 MB training excerpt exists only in lower case, while the held-out
validation text and any user prompt are cased. Training on lower case would leave every capital
letter to byte fallback; training on the 0.94 MB cased part alone would waste three quarters of
the data. So the lower-case remainder is truecased: a word keeps the form it most often has in
the cased part away from sentence starts (names, "I"), and sentence/quote starts get a capital.
The script measures this heuristic on the cased part itself and prints the word accuracy.

Outputs (in --out): train_stories.txt (one story per line, newlines inside a story escaped as
\\n is not needed: stories are written separated by a form feed), valid.txt, tokenizer.model.
"""
import argparse
import collections
import lzma
import os
import re

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
STORY_SEPARATOR = "\f"


def read_xz(name):
    with lzma.open(os.path.join(DATA, name), "rt", encoding="utf-8") as f:
        return f.read()


def sentence_initial_positions(text):
    """Indices of letters that start a sentence, a line or a quotation."""
    starts = set()
    for m in re.finditer(r"(?:^|[.!?]\s+|\n|[\s,:]\")[\"']?([a-zA-Z])", text):
        starts.add(m.start(1))
    return starts


def learn_case_map(cased):
    starts = sentence_initial_positions(cased)
    forms = collections.defaultdict(collections.Counter)
    for m in WORD.finditer(cased):
        if m.start() in starts:
            continue
        forms[m.group().lower()][m.group()] += 1
    case_map = {}
    for lower, counter in forms.items():
        form, count = counter.most_common(1)[0]
        if form != lower and count >= 2:
            case_map[lower] = form
    return case_map


def truecase(lower_text, case_map):
    def word_form(m):
        return case_map.get(m.group(), m.group())

    text = WORD.sub(word_form, lower_text)
    chars = list(text)
    for i in sentence_initial_positions(text):
        chars[i] = chars[i].upper()
    return "".join(chars)


def word_accuracy(reference, guess):
    ref_words = WORD.findall(reference)
    guess_words = WORD.findall(guess)
    assert len(ref_words) == len(guess_words)
    same = sum(a == b for a, b in zip(ref_words, guess_words))
    return same / max(1, len(ref_words))


def split_train_stories(text):
    # A story boundary is a single "\n" (paragraphs inside a story are separated by "\n\n").
    stories = re.split(r"(?<!\n)\n(?!\n)", text)
    return [s.strip() for s in stories if s.strip()]


def train_tokenizer(stories, out_dir, vocab_size):
    paragraphs = (p for s in stories for p in s.split("\n") if p.strip())
    spm.SentencePieceTrainer.train(
        sentence_iterator=paragraphs,
        model_prefix=os.path.join(out_dir, "tokenizer"),
        model_type="bpe",
        vocab_size=vocab_size,
        character_coverage=1.0,
        byte_fallback=True,
        split_digits=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        input_sentence_size=2_000_000,
        shuffle_input_sentence=True,
        num_threads=2,
        minloglevel=2,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "out"))
    parser.add_argument("--vocab", type=int, default=2048)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    cased = read_xz("tinystories_train_head_cased.txt.xz")
    lower = read_xz("tinystories_train_head_lowercase.txt.xz")
    valid = read_xz("tinystories_valid_head.txt.xz")
    overlap = len(cased)
    if lower[:overlap] != cased.lower():
        raise SystemExit("the cased excerpt is not a prefix of the lower-case one; data changed?")

    case_map = learn_case_map(cased)
    accuracy = word_accuracy(cased, truecase(cased.lower(), case_map))
    print(f"truecasing: {len(case_map)} cased word forms; word accuracy on the cased part {accuracy:.4f}")

    train_text = cased + truecase(lower[overlap:], case_map)
    stories = split_train_stories(train_text)
    print(f"train: {len(stories)} stories, {len(train_text)} characters; valid: {len(valid)} characters")

    with open(os.path.join(args.out, "train_stories.txt"), "w", encoding="utf-8") as f:
        f.write(STORY_SEPARATOR.join(stories))
    with open(os.path.join(args.out, "valid.txt"), "w", encoding="utf-8") as f:
        f.write(valid)
    train_tokenizer(stories, args.out, args.vocab)
    print(f"tokenizer: {os.path.join(args.out, 'tokenizer.model')}")


if __name__ == "__main__":
    main()
