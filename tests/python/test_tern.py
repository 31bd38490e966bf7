"""The Python package against the shipped TinyStories model: the golden story, the PyTorch
logits fixture, perplexity summed in NumPy from the logits it returns, streaming, cancellation
by Ctrl-C and by leaving a stream, errors, threads, and `python -m tern`.

Run by ctest with PYTHONPATH=<build>/python and TERN_SOURCE_DIR set, under pytest.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import unittest
from pathlib import Path

try:
    import numpy
except ImportError:
    print("SKIPPED: NumPy is missing (Debian: python3-numpy)", file=sys.stderr)
    sys.exit(77)

import tern

MODEL_DIR = Path(os.environ["TERN_SOURCE_DIR"]) / "models" / "tinystories"
GGUF = str(MODEL_DIR / "tinystories-bitnet.gguf")
CARD = json.loads((MODEL_DIR / "card.json").read_text())
GOLDEN = (MODEL_DIR / "golden.txt").read_text().removesuffix("\n")
FIXTURE = json.loads((MODEL_DIR / "fixture.json").read_text())


class ModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.model = tern.load(GGUF, threads=2)

    def golden(self, **options) -> str:
        return self.model.generate(CARD["golden_prompt"], max_tokens=CARD["golden_tokens"], temperature=0, **options)

    def test_info_describes_the_model(self) -> None:
        info = self.model.info
        self.assertEqual(info["architecture"], "bitnet-b1.58")
        self.assertEqual(info["n_vocab"], 2048)
        self.assertEqual(info["threads"], 2)
        self.assertTrue(info["has_tokenizer"])
        self.assertIn("I2_S", repr(self.model))

    def test_greedy_generation_tells_the_golden_story(self) -> None:
        self.assertEqual(self.golden(), GOLDEN)
        stats = self.model.last_generation
        self.assertEqual(stats["finish_reason"], "length")
        self.assertEqual(stats["generated_tokens"], CARD["golden_tokens"])
        self.assertEqual(self.golden(draft="ngram"), GOLDEN)

    def test_prompt_as_token_ids(self) -> None:
        ids = self.model.tokenize(CARD["golden_prompt"])
        text = self.model.generate(ids, max_tokens=CARD["golden_tokens"], temperature=0)
        self.assertEqual(text, GOLDEN)

    def test_stream_yields_the_same_text_in_pieces(self) -> None:
        pieces = list(self.model.generate(CARD["golden_prompt"], max_tokens=CARD["golden_tokens"], temperature=0,
                                          stream=True))
        self.assertGreater(len(pieces), 10)
        self.assertEqual("".join(pieces), GOLDEN)

    def test_leaving_a_stream_cancels_it_and_the_model_stays_usable(self) -> None:
        stream = self.model.generate(CARD["golden_prompt"], max_tokens=200, temperature=0, stream=True)
        first = next(stream)
        stream.close()
        self.assertTrue(GOLDEN.startswith(first))
        self.assertEqual(self.golden(), GOLDEN)

    def test_ctrl_c_stops_a_generation_and_the_model_stays_usable(self) -> None:
        pieces = []

        def interrupt_at_third_piece(piece: str) -> bool:
            pieces.append(piece)
            if len(pieces) == 3:
                os.kill(os.getpid(), signal.SIGINT)
            return True

        with self.assertRaises(KeyboardInterrupt):
            options = tern.Model._options(200, 0.0, 1.0, 0, 0.0, 1.0, 0, None, None, 8)
            self.model._model.generate("Once upon a time", on_text=interrupt_at_third_piece, **options)
        self.assertLessEqual(len(pieces), 4)
        self.assertEqual(self.golden(), GOLDEN)

    def test_a_draft_model_keeps_the_text(self) -> None:
        draft = tern.load(MODEL_DIR.parent / "tinystories-ifairy" / "tinystories-ifairy.gguf", threads=1)
        self.assertEqual(self.golden(draft=draft), GOLDEN)
        stats = self.model.last_generation
        self.assertGreater(stats["draft_tokens"], 0)
        self.assertLessEqual(stats["accepted_tokens"], stats["draft_tokens"])
        sampled = self.model.generate("Once upon a time", max_tokens=40, seed=4)
        self.assertEqual(self.model.generate("Once upon a time", max_tokens=40, seed=4, draft=draft, max_draft=3),
                         sampled)
        # Without adapting, every step checks max_draft guesses: more checked, the same text.
        self.assertEqual(self.golden(draft=draft, max_draft=4, adapt_draft=False), GOLDEN)
        fixed = self.model.last_generation["draft_tokens"]
        self.assertEqual(self.golden(draft=draft, max_draft=4), GOLDEN)
        self.assertGreater(fixed, self.model.last_generation["draft_tokens"])
        with self.assertRaises(tern.Error):
            self.model.generate("Once", draft=3)

    def test_a_batch_gives_each_prompt_its_own_text(self) -> None:
        prompts = ["Once upon a time", "The little dog", "Tom and Sue"]
        texts = self.model.generate_batch(prompts, max_tokens=30, seed=8)
        self.assertEqual(texts, [self.model.generate(p, max_tokens=30, seed=8) for p in prompts])
        pieces = {0: "", 1: "", 2: ""}

        def on_text(index: int, piece: str) -> bool:
            pieces[index] += piece
            return index != 2

        texts = self.model.generate_batch(prompts, max_tokens=20, temperature=0, on_text=on_text)
        self.assertEqual([pieces[i] for i in range(3)], texts)
        self.assertEqual([g["finish_reason"] for g in self.model.last_generation][2], "cancelled")
        self.assertEqual(texts[0], self.model.generate(prompts[0], max_tokens=20, temperature=0))
        with self.assertRaises(tern.Error):
            self.model.generate_batch("one string")

    def test_a_hub_name_is_read_from_the_huggingface_cache(self) -> None:
        # The layout huggingface_hub writes: blobs by hash, a snapshot of links, refs/main.
        import hashlib
        import tempfile
        commit = "1234567890abcdef1234567890abcdef12345678"
        data = Path(GGUF).read_bytes()
        with tempfile.TemporaryDirectory() as cache:
            repo = Path(cache) / "models--tern-test--tinystories"
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True)
            blob.write_bytes(data)
            snapshot = repo / "snapshots" / commit
            snapshot.mkdir(parents=True)
            (snapshot / "tinystories-bitnet.gguf").symlink_to(Path("..") / ".." / "blobs" / blob.name)
            (repo / "refs").mkdir()
            (repo / "refs" / "main").write_text(commit)
            saved = {k: os.environ.get(k) for k in ("HF_HUB_CACHE", "HF_HUB_OFFLINE")}
            os.environ.update(HF_HUB_CACHE=cache, HF_HUB_OFFLINE="1")
            try:
                model = tern.load("tern-test/tinystories", threads=1)
                with self.assertRaises(tern.Error) as missing:
                    tern.load("tern-test/absent", threads=1)
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            self.assertEqual(model.info["path"], str(snapshot / "tinystories-bitnet.gguf"))
            self.assertEqual(model.generate(CARD["golden_prompt"], max_tokens=CARD["golden_tokens"], temperature=0),
                             GOLDEN)
            self.assertIn("HF_HUB_OFFLINE is set", str(missing.exception))

    def test_stop_strings_and_seeds(self) -> None:
        text = self.model.generate(CARD["golden_prompt"], max_tokens=CARD["golden_tokens"], temperature=0,
                                   stop=["very brave"])
        self.assertEqual(text, GOLDEN[:GOLDEN.index("very brave")])
        self.assertEqual(self.model.last_generation["finish_reason"], "stop")
        a = self.model.generate("Once upon a time", max_tokens=30, seed=5)
        b = self.model.generate("Once upon a time", max_tokens=30, seed=5)
        c = self.model.generate("Once upon a time", max_tokens=30, seed=6)
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)

    def test_tokenize_matches_the_fixture(self) -> None:
        ids = self.model.tokenize(FIXTURE["prompt"])
        self.assertEqual(ids, FIXTURE["ids"])
        self.assertIn(FIXTURE["prompt"], self.model.detokenize(ids[1:]))

    def test_logits_are_a_numpy_view_close_to_pytorch(self) -> None:
        ids = FIXTURE["ids"]
        logits = self.model.logits(ids, all_tokens=True)
        self.assertEqual(logits.shape, (len(ids), 2048))
        self.assertEqual(logits.dtype, numpy.float32)
        self.assertFalse(logits.flags["OWNDATA"])   # tern's buffer, not a copy
        torch = numpy.fromfile(MODEL_DIR / "fixture_logits.f32", dtype=numpy.float32).reshape(len(ids), 2048)
        self.assertLess(numpy.abs(logits - torch).max(), 0.02 * numpy.abs(torch).max())
        numpy.testing.assert_array_equal(logits.argmax(axis=1), torch.argmax(axis=1))
        last = self.model.logits(ids)
        self.assertEqual(last.shape, (2048,))
        numpy.testing.assert_array_equal(last, logits[-1])

    def test_perplexity_equals_the_sum_over_logits(self) -> None:
        text = GOLDEN + "\n" + GOLDEN
        window = 32
        tokens = self.model.tokenize(text)
        nll, scored = 0.0, 0
        for c in range(len(tokens) // window):
            chunk = tokens[c * window:(c + 1) * window]
            chunk[0] = 1
            logits = self.model.logits(chunk, all_tokens=True).astype(numpy.float64)
            for i in range(window // 2, window - 1):
                row = logits[i] - logits[i].max()
                nll -= row[chunk[i + 1]] - numpy.log(numpy.exp(row).sum())
                scored += 1
        details = self.model.perplexity_details(text, window=window)
        self.assertEqual(details["scored_tokens"], scored)
        self.assertAlmostEqual(self.model.perplexity(text, window=window), float(numpy.exp(nll / scored)), places=6)

    def test_chat(self) -> None:
        reply = self.model.chat([{"role": "system", "content": "You tell stories."},
                                 {"role": "user", "content": "A story about a fox."}], max_tokens=20, temperature=0)
        self.assertIsInstance(reply, str)
        self.assertGreater(self.model.last_generation["generated_tokens"], 0)
        streamed = "".join(self.model.chat([{"role": "system", "content": "You tell stories."},
                                            {"role": "user", "content": "A story about a fox."}], max_tokens=20,
                                           temperature=0, stream=True))
        self.assertEqual(streamed, reply)

    def test_a_chat_keeps_the_conversation_and_repeats_for_a_seed(self) -> None:
        turns = ["A story about a fox.", "And then?", "Who else came?"]
        chat = self.model.new_chat()
        first = chat.send(turns[0], max_tokens=20, temperature=0)
        self.assertEqual(first, self.model.chat([{"role": "user", "content": turns[0]}], max_tokens=20, temperature=0))
        self.assertGreater(chat.size, chat.last_generation["prompt_tokens"])
        said = []
        for _ in range(2):
            fresh = self.model.new_chat(system="You tell stories.")
            said.append([fresh.send(turn, max_tokens=16, seed=9) for turn in turns])
        self.assertEqual(said[0], said[1])
        streamed = self.model.new_chat(system="You tell stories.")
        self.assertEqual(["".join(streamed.send(turn, max_tokens=16, seed=9, stream=True)) for turn in turns], said[0])
        chat.reset()
        self.assertEqual(chat.send(turns[0], max_tokens=20, temperature=0), first)
        self.assertFalse(chat.restarted)
        with self.assertRaises(tern.Error):
            self.model.new_chat(context=1 << 20)

    def test_echo_and_sampler_options(self) -> None:
        plain = self.model.generate("Once upon a time", max_tokens=12, temperature=0)
        self.assertEqual(self.model.generate("Once upon a time", max_tokens=12, temperature=0, echo=True),
                         "Once upon a time" + plain)
        self.model.generate("Once upon a time", max_tokens=5, temperature=0, logit_bias={42: 100.0})
        self.assertEqual(self.model.last_generation["tokens"], [42] * 5)
        self.assertEqual(self.model.last_generation["steps"], 5)
        varied = self.model.generate("Once upon a time", max_tokens=40, temperature=0, frequency_penalty=5.0)
        self.assertNotEqual(varied, self.model.generate("Once upon a time", max_tokens=40, temperature=0))
        with self.assertRaises(tern.Error):
            self.model.generate("Once", max_tokens=2, frequency_penalti=1.0)

    def test_errors_are_tern_errors_with_one_line(self) -> None:
        with self.assertRaises(tern.Error) as missing:
            tern.load("/nonexistent/model.gguf")
        self.assertIn("/nonexistent/model.gguf", str(missing.exception))
        self.assertNotIn("\n", str(missing.exception))
        with self.assertRaisesRegex(tern.Error, "unknown option 'colour'"):
            tern.load(GGUF, colour="red")
        with self.assertRaisesRegex(tern.Error, r"^kv_type 'f8' is not supported \(f32 or f16\)$"):
            tern.load(GGUF, kv_type="f8")
        with self.assertRaisesRegex(tern.Error, "role 'tool'"):
            self.model.chat([{"role": "tool", "content": "42"}])
        with self.assertRaisesRegex(tern.Error, "is not a dict"):
            self.model.chat(["hello"])
        with self.assertRaisesRegex(tern.Error, "outside the vocabulary"):
            self.model.generate([1, 99999])
        with self.assertRaisesRegex(tern.Error, "outside the vocabulary"):
            list(self.model.generate([1, 99999], stream=True))
        with self.assertRaisesRegex(tern.Error, "not supported"):
            self.model.generate("x", draft="medusa")

    def test_threads_share_a_model(self) -> None:
        results = [None] * 3

        def work(i: int) -> None:
            results[i] = self.golden()

        threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [GOLDEN] * 3)

    def test_benchmark_and_system_info(self) -> None:
        report = tern.benchmark(self.model, pp=8, tg=8, threads=1, repetitions=1)
        self.assertEqual([r["test"] for r in report["results"]], ["pp8", "tg8"])
        self.assertGreater(report["results"][1]["tokens_per_s"], 0)
        info = tern.system_info()
        self.assertEqual(info["version"], tern.__version__)
        self.assertIn(info["best_kernels"], info["kernels"])
        self.assertTrue(info["amx_prefill"])
        self.assertTrue(info["caches"])
        self.assertEqual(info["isa_error"], "")
        self.assertIsInstance(info["mpi"], bool)

    def test_tokenizer_alone_matches_the_model(self) -> None:
        text = "Once upon a time, there was a fox."
        for path in (GGUF, os.path.join(os.path.dirname(GGUF), "hf")):
            tok = tern.load_tokenizer(path)
            self.assertEqual(tok.vocab_size, 2048)
            self.assertEqual(tok.encode(text), self.model.tokenize(text))
            self.assertEqual(tok.decode(tok.encode(text, add_special=False)), self.model.detokenize(
                self.model.tokenize(text, add_special=False)))
            self.assertEqual(tok.piece(tok.encode(text)[0]), "<s>")
            with self.assertRaises(tern.Error) as bad:
                tok.decode([1, 5000])
            self.assertEqual(str(bad.exception), "token 1 is id 5000, outside the vocabulary of 2048")
        with self.assertRaises(tern.Error):
            tern.load_tokenizer("/nonexistent/tokenizer.json")

    def test_benchmark_kernels(self) -> None:
        best = tern.system_info()["best_kernels"]
        report = tern.benchmark_kernels(isas=[best], threads=1, gemm_tokens=0, head=False, complex=False,
                                        seconds_per_point=0.001, stream_mb=1)
        self.assertEqual({(p["op"], p["isa"], p["threads"]) for p in report["points"]}, {("gemv", best, 1)})
        self.assertGreater(report["read_bandwidth_gb_per_s"][0]["gb_per_s"], 0)
        with self.assertRaises(tern.Error) as bad:
            tern.benchmark_kernels(isas=["avx9"])
        self.assertTrue(str(bad.exception).startswith("--isa unknown ISA 'avx9'"), str(bad.exception))


class CommandLineTest(unittest.TestCase):
    def run_module(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tern", *args], capture_output=True, text=True, timeout=120)

    def test_generate_prints_the_golden_story(self) -> None:
        run = self.run_module("generate", "-m", GGUF, "-p", CARD["golden_prompt"], "-n", str(CARD["golden_tokens"]),
                              "--temp", "0", "-t", "2")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, GOLDEN + "\n")
        self.assertIn("finished: length", run.stderr)

    def test_chat_info_and_errors(self) -> None:
        run = subprocess.run([sys.executable, "-m", "tern", "chat", "-m", GGUF, "-n", "8", "--temp", "0"],
                             input="Hello\n\n", capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertTrue(run.stdout.startswith("> "))
        info = self.run_module("info")
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertIn("best_kernels:", info.stdout)
        bad = self.run_module("generate", "-m", "/nonexistent.gguf", "-p", "x")
        self.assertEqual(bad.returncode, 1)
        self.assertTrue(bad.stderr.startswith("tern: /nonexistent.gguf"), bad.stderr)
        self.assertEqual(bad.stderr.count("\n"), 1, bad.stderr)


if __name__ == "__main__":
    # Under pytest (Debian's python3-pytest, which `make deps` installs) when it is there, else
    # the standard library's runner: the same tests either way.
    try:
        import pytest
    except ImportError:
        print("pytest is missing (Debian: python3-pytest): running the tests with unittest", file=sys.stderr)
        unittest.main()
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
