"""tern: fast, exact inference of ternary and complex-valued language models on CPUs.

    import tern
    model = tern.load("models/tinystories/tinystories-bitnet.gguf")
    print(model.generate("Once upon a time", max_tokens=60, temperature=0))
    for piece in model.chat([{"role": "user", "content": "Tell me a story."}], stream=True):
        print(piece, end="", flush=True)

Every failure is a tern.Error carrying tern's one-line message. Computation runs without the
GIL; Ctrl-C stops a generation within a token and leaves the model usable. A Model may be
shared by threads: their calls take turns on the model's thread pool.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

from . import _tern
from ._tern import Error

__all__ = ["Error", "Chat", "Model", "Tokenizer", "load", "load_tokenizer", "system_info", "benchmark", "benchmark_kernels",
           "__version__"]
__version__: str = _tern.__version__

Message = Dict[str, str]
Prompt = Union[str, Sequence[int]]
Draft = Union[None, str, "Model"]


def system_info() -> Dict[str, Any]:
    """The CPU, its SIMD features, and the kernels that run here (as `tern info` reports)."""
    return _tern.system_info()


def load(path: str, threads: Optional[int] = None, ctx: Optional[int] = None, **options: Any) -> "Model":
    """Loads a GGUF file, a Hugging Face folder, or a Hub name ("ORG/NAME" or "ORG/NAME:FILE").

    A Hub name is read from the cache huggingface_hub shares (HF_HOME, HF_HUB_CACHE) or
    downloaded into it (HF_ENDPOINT, HF_TOKEN; never with HF_HUB_OFFLINE set).
    threads: the model's thread pool (default: every CPU this process may use).
    ctx: tokens a generation may hold, prompt included (default: the model's training context).
    options: isa ("scalar", "avx2", "avx512", "avx512vnni"), head ("auto", "keep", "q8_0", "q6_k", "q4_0"), packing ("2bit",
    "base3"), weights ("fairy2i-w1", "fairy2i-w2"), activations ("int8", "float"), kv_type
    ("f32", "f16"), chat_template (a built-in name or a Jinja file), revision (a Hub branch, tag
    or commit; "main"), on_download (called as on_download(file, bytes_done, bytes_total)).
    """
    known = {"isa", "head", "packing", "weights", "activations", "kv_type", "chat_template", "revision",
             "on_download"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise Error(f"load: unknown option {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return Model(_tern.Model.load(str(path), threads=threads or 0, context=ctx or 0, **options))


def load_tokenizer(path: str, revision: str = "main") -> "Tokenizer":
    """A model's tokenizer without its weights: a GGUF file, a model folder, a tokenizer.json or
    tokenizer.model, or a Hub name (read from, or downloaded into, the Hub cache)."""
    return Tokenizer(_tern.Tokenizer.load(str(path), revision))


class Tokenizer:
    """A tokenizer on its own. Create it with tern.load_tokenizer()."""

    def __init__(self, tokenizer: "_tern.Tokenizer") -> None:
        self._tokenizer = tokenizer

    def encode(self, text: str, add_special: bool = True, parse_special: bool = False) -> List[int]:
        """Token ids of text (with BOS/EOS when the tokenizer adds them and add_special is true;
        special-token texts in text become their ids only with parse_special)."""
        return self._tokenizer.encode(text, add_special, parse_special)

    def decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode(list(ids))

    def piece(self, id: int, special: bool = True) -> str:
        """One token's text (a special token's own text only when special is true)."""
        return self._tokenizer.piece(id, special)

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.vocab_size


def benchmark(model: "Model", pp: int = 128, tg: int = 128, threads: Optional[Union[int, Sequence[int]]] = None,
              repetitions: int = 3) -> Dict[str, Any]:
    """llama-bench's pp<N>/tg<N> on the model: the report `tern bench --json` prints, as a dict."""
    if threads is None:
        thread_counts: List[int] = []
    elif isinstance(threads, int):
        thread_counts = [threads]
    else:
        thread_counts = list(threads)
    return json.loads(model._model.benchmark(pp, tg, thread_counts, repetitions))


def benchmark_kernels(isas: Optional[Sequence[str]] = None, threads: Union[int, Sequence[int]] = (1, 2),
                      gemm_tokens: int = 128, head: bool = True, complex: bool = True,
                      seconds_per_point: float = 0.3, stream_mb: int = 0) -> Dict[str, Any]:
    """Every kernel timed on the BitNet b1.58 2B4T shapes against the read bandwidth measured in
    the same run: the report `tern bench --kernels --json` prints, as a dict.

    isas: e.g. ["avx2", "avx512vnni"] (default: every ISA that runs here but scalar).
    gemm_tokens: tokens of the GEMM points (0 skips them). head: the LM head in each format.
    complex: iFairy's complex and Fairy2i's widely-linear GEMV. stream_mb: MiB of weight copies
    cycled per GEMV (0: four times the last-level cache, at least 256).
    """
    thread_counts = [threads] if isinstance(threads, int) else list(threads)
    return json.loads(_tern.benchmark_kernels(list(isas or []), thread_counts, gemm_tokens, head, complex,
                                              seconds_per_point, stream_mb))


class Model:
    """A loaded model. Create it with tern.load()."""

    def __init__(self, model: "_tern.Model") -> None:
        self._model = model
        self.last_generation: Optional[Dict[str, Any]] = None
        """Counts and timings of the last generate() or chat(): finish_reason, prompt_tokens,
        generated_tokens, prompt_seconds, generate_seconds, tokens, draft_tokens (guesses
        checked) and accepted_tokens (those that held); a list of them after generate_batch()."""

    @property
    def info(self) -> Dict[str, Any]:
        """Architecture, shape, kernels, context, file size, tokenizer and chat template."""
        return self._model.info

    def __repr__(self) -> str:
        return f"<tern.Model {self.info['path']!r}: {self.info['description']}>"

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = False) -> List[int]:
        """Token ids of text (with BOS when the model adds one and add_special is true)."""
        return self._model.tokenize(text, add_special, parse_special)

    def detokenize(self, ids: Sequence[int]) -> str:
        return self._model.detokenize(list(ids))

    def logits(self, ids: Sequence[int], all_tokens: bool = False) -> "Any":
        """NumPy float32 logits after evaluating ids from an empty context: shape (n_vocab,) for
        the last token, or (len(ids), n_vocab) with all_tokens. The array owns its memory."""
        return self._model.logits(list(ids), all_tokens)

    def perplexity(self, text: str, window: int = 512, max_chunks: int = 0) -> float:
        """Perplexity of text in llama-perplexity's protocol (chunks of `window` tokens, the
        second half of each scored). perplexity_details() returns the uncertainty too."""
        return self.perplexity_details(text, window, max_chunks)["perplexity"]

    def perplexity_details(self, text: str, window: int = 512, max_chunks: int = 0) -> Dict[str, float]:
        return self._model.perplexity(text, window, max_chunks)

    def generate(self, prompt: Prompt, max_tokens: int = 256, temperature: float = 0.8, top_p: float = 0.95,
                 top_k: int = 40, min_p: float = 0.05, seed: int = 0, stop: Optional[Sequence[str]] = None,
                 stream: bool = False, repeat_penalty: float = 1.0, draft: Draft = None,
                 max_draft: int = 8, adapt_draft: bool = True, echo: bool = False,
                 **sampling: Any) -> Union[str, Iterator[str]]:
        """Continues a prompt (text, or a list of token ids).

        temperature 0 is greedy; a seed makes sampling repeatable. The text ends before the
        first stop string. draft="ngram" drafts from earlier text, draft=<a smaller Model with
        the same vocabulary> lets that model guess; either way the text is the same as without,
        often sooner (max_draft guesses per step at most; adapt_draft=False always checks
        max_draft, instead of fewer while few guesses hold). stream=True returns an iterator of
        text pieces as they form. echo=True puts the prompt's text first.
        sampling: frequency_penalty, presence_penalty (subtracted per occurrence / once, over the
        last penalty_last_n tokens, 64), typical_p (1: off), logit_bias ({token id: bias}).
        """
        prompt_arg: Union[str, List[int]] = prompt if isinstance(prompt, str) else list(prompt)
        options = self._options(max_tokens, temperature, top_p, top_k, min_p, repeat_penalty, seed, stop, draft,
                                max_draft, adapt_draft, **sampling)
        options["echo"] = bool(echo)
        return self._run(lambda **kw: self._model.generate(prompt_arg, **kw, **options), stream)

    def generate_batch(self, prompts: Sequence[str], max_tokens: int = 256, temperature: float = 0.8,
                       top_p: float = 0.95, top_k: int = 40, min_p: float = 0.05, seed: int = 0,
                       stop: Optional[Sequence[str]] = None, repeat_penalty: float = 1.0,
                       on_text: Optional[Callable[[int, str], Optional[bool]]] = None) -> List[str]:
        """Several prompts at once: each decode step evaluates a token of every unfinished prompt
        together (the weights are read once for all), so the batch takes about as long as its
        longest reply. Each text is what generate() gives that prompt alone, for any seed.
        on_text(index, piece) sees the pieces as they form; returning False ends that prompt.
        last_generation becomes the list of each prompt's counts.
        """
        if isinstance(prompts, str):
            raise Error("generate_batch: prompts must be a list of strings, not one string")
        options = self._options(max_tokens, temperature, top_p, top_k, min_p, repeat_penalty, seed, stop, None, 8, True)
        callback = None if on_text is None else (lambda index, piece: on_text(index, piece) is not False)
        results = self._model.generate_batch(list(prompts), on_text=callback, **options)
        self.last_generation = results
        return [r["text"] for r in results]

    def chat(self, messages: Sequence[Message], max_tokens: int = 256, temperature: float = 0.8,
             top_p: float = 0.95, top_k: int = 40, min_p: float = 0.05, seed: int = 0,
             stop: Optional[Sequence[str]] = None, stream: bool = False, repeat_penalty: float = 1.0,
             draft: Draft = None, max_draft: int = 8, adapt_draft: bool = True,
             **sampling: Any) -> Union[str, Iterator[str]]:
        """The assistant's reply to OpenAI-style messages ({"role": "system"|"user"|"assistant",
        "content": ...}), rendered with the model's chat template. Options as in generate()."""
        message_list = list(messages)
        options = self._options(max_tokens, temperature, top_p, top_k, min_p, repeat_penalty, seed, stop, draft,
                                max_draft, adapt_draft, **sampling)
        return self._run(lambda **kw: self._model.chat(message_list, **kw, **options), stream)

    def new_chat(self, system: str = "", context: int = 0) -> "Chat":
        """A conversation kept in the model's cache across turns (Chat.send), so each reply costs
        only the new message; context: tokens it holds (default: the model's)."""
        return Chat(self, self._model.new_chat(system, context))

    @staticmethod
    def _options(max_tokens: int, temperature: float, top_p: float, top_k: int, min_p: float,
                 repeat_penalty: float, seed: int, stop: Optional[Sequence[str]], draft: Draft,
                 max_draft: int, adapt_draft: bool = True, frequency_penalty: float = 0.0,
                 presence_penalty: float = 0.0, penalty_last_n: int = 64, typical_p: float = 1.0,
                 logit_bias: Optional[Dict[int, float]] = None, **unknown: Any) -> Dict[str, Any]:
        if unknown:
            raise Error(f"unknown option {sorted(unknown)[0]!r}")
        if max_tokens < 0:
            raise Error(f"max_tokens {max_tokens} is negative")
        if isinstance(stop, str):
            stop = [stop]
        if draft is not None and not isinstance(draft, (str, Model)):
            raise Error(f"draft must be \"ngram\" or a tern.Model, not {type(draft).__name__}")
        return {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "top_k": top_k,
                "min_p": min_p, "repeat_penalty": repeat_penalty, "frequency_penalty": frequency_penalty,
                "presence_penalty": presence_penalty, "penalty_last_n": penalty_last_n, "typical_p": typical_p,
                "logit_bias": {int(k): float(v) for k, v in (logit_bias or {}).items()}, "echo": False,
                "seed": seed, "stop": list(stop or []),
                "draft": draft if isinstance(draft, str) else "",
                "draft_model": draft._model if isinstance(draft, Model) else None, "max_draft": max_draft,
                "adapt_draft": bool(adapt_draft)}

    def _run(self, call: Any, stream: bool, holder: Any = None) -> Union[str, Iterator[str]]:
        holder = holder if holder is not None else self
        if stream:
            return self._stream(call, holder)
        result = call()
        holder.last_generation = result
        return result["text"]

    def _stream(self, call: Any, holder: Any) -> Iterator[str]:
        # The generation runs on its own thread and hands pieces over a queue; leaving the loop
        # early (break, an exception, Ctrl-C) cancels it within a token.
        pieces: "queue.Queue[Any]" = queue.Queue()
        cancel = _tern.CancelToken()
        done = object()
        outcome: Dict[str, Any] = {}

        def on_text(piece: str) -> bool:
            pieces.put(piece)
            return not cancel.cancelled

        def worker() -> None:
            try:
                outcome["result"] = call(on_text=on_text, cancel=cancel)
            except BaseException as error:  # handed to the consumer
                outcome["error"] = error
            finally:
                pieces.put(done)

        thread = threading.Thread(target=worker, name="tern-generate", daemon=True)
        thread.start()
        try:
            while True:
                piece = pieces.get()
                if piece is done:
                    break
                yield piece
        finally:
            cancel.cancel()
            thread.join()
        if "error" in outcome:
            raise outcome["error"]
        holder.last_generation = outcome["result"]


class Chat:
    """A conversation with a model, kept in its cache across turns. Create it with
    Model.new_chat(); each send() returns (or with stream=True streams) the assistant's reply."""

    def __init__(self, model: Model, chat: "_tern.Chat") -> None:
        self._model = model   # the handle the replies' counts are kept on
        self._chat = chat
        self.last_generation: Optional[Dict[str, Any]] = None

    def send(self, message: str, max_tokens: int = 256, temperature: float = 0.8, top_p: float = 0.95,
             top_k: int = 40, min_p: float = 0.05, seed: int = 0, stop: Optional[Sequence[str]] = None,
             stream: bool = False, repeat_penalty: float = 1.0, draft: Draft = None, max_draft: int = 8,
             adapt_draft: bool = True, **sampling: Any) -> Union[str, Iterator[str]]:
        """The reply to the user's message (options as in Model.generate). Replies with the same
        sampling options continue one random stream, so a conversation repeats for a seed."""
        options = Model._options(max_tokens, temperature, top_p, top_k, min_p, repeat_penalty, seed, stop, draft,
                                 max_draft, adapt_draft, **sampling)
        return self._model._run(lambda **kw: self._chat.send(message, **kw, **options), stream, holder=self)

    def reset(self) -> None:
        """Starts over from the system prompt."""
        self._chat.reset()

    @property
    def restarted(self) -> bool:
        """Whether the last send() restarted the conversation to fit the context."""
        return self._chat.restarted

    @property
    def size(self) -> int:
        return self._chat.size

    @property
    def context(self) -> int:
        return self._chat.context
