#!/usr/bin/env python3
"""Fills the "expected" renderings of tern's Jinja tests with Python's Jinja2 configured as
Hugging Face configures it for chat templates (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, loop controls, its own tojson, raise_exception and strftime_now).

  python3 tools/jinja_expectations.py tests/tokenizer/data/jinja_cases.json
  python3 tools/jinja_expectations.py --templates DIR_OR_FILES... > renderings.json

Cases whose rendering fails get {"error": true}. Needs Debian's python3-jinja2; the tests
themselves never run Python.
"""
import json
from datetime import datetime
import sys

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def hf_environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise ValueError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


def render(env, template, context):
    try:
        return {"expected": env.from_string(template).render(**context)}
    except Exception as error:  # noqa: BLE001 - any failure is an expected failure
        return {"error": True, "python_error": f"{type(error).__name__}: {error}"}


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)
    env = hf_environment()
    for case in cases:
        for key in ("expected", "error", "python_error"):
            case.pop(key, None)
        case.update(render(env, case["template"], case.get("context", {})))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
