#include "tokenizer/pre_tokenizers.h"

#include <array>

namespace tern::tokenizer {
namespace {

// The patterns as the models' own tokenizer.json files write them (docs/tokenizers.md §2.2 for
// Llama 3); a test checks each against the real files and their reference tokenizations.
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Qwen 2 / 2.5 / 3: Llama 3's, but digits one at a time.
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// DeepSeek V3: up to three digits, runs of CJK ideographs and kana, then words and punctuation.
constexpr std::string_view kDeepSeekV3Digits = R"(\p{N}{1,3})";
constexpr std::string_view kDeepSeekV3Cjk = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+";
constexpr std::string_view kDeepSeekV3Words =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// GPT-4o (tiktoken's o200k): case-aware words with their contractions, up to three digits,
// punctuation runs keeping a trailing newline or slash. It matches every character, so keeping
// only its matches (as the tokenizer.json says) and isolating them cut text the same way.
constexpr std::string_view kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The names below are llama.cpp's for GGUF files converted from models whose tokenizer.json
// spells the rules as a chain of pre-tokenizers (Punctuation, Digits, ByteLevel, Split): each
// pattern cuts every piece of the one before it, keeping matches and the text between them.
// Falcon: punctuation runs first, then GPT-2's words, then runs of three ASCII digits.
constexpr std::string_view kFalconPunctuation = R"([\p{P}\$\+<=>\^~\|`]+)";
constexpr std::string_view kGpt2Words = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr std::string_view kThreeAsciiDigits = "[0-9][0-9][0-9]";
// StarCoder, Refact, SmolLM, CodeShell, EXAONE, Command R, Minerva: every digit alone
// (kEachDigit), then GPT-2's words.
// DeepSeek LLM and Coder: line breaks alone, then words (DeepSeek LLM spells its letters out
// as ranges), punctuation, CJK and Hangul runs, and digits.
constexpr std::string_view kLineBreak = "[\r\n]";
constexpr std::string_view kDeepSeekLlmLetters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5"
    "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba"
    "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45"
    "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe"
    "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc"
    "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134"
    "\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee"
    "\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf"
    "\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
    "\U0001e900-\U0001e943]+";
constexpr std::string_view kDeepSeekLlmPunctuation = "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+";
constexpr std::string_view kTrailingSpace = R"(\s+$)";
constexpr std::string_view kCjkHangul = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";
constexpr std::string_view kDeepSeekCoderLetters = R"(\s?\p{L}+)";
constexpr std::string_view kDeepSeekCoderPunctuation = R"(\s?\p{P}+)";

// Jais 2: Llama 3's, with runs of blanks cut into powers of two before the text they precede.
constexpr std::string_view kJais2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})";
// Qwen 3.5: Qwen 2's, with combining marks kept in words and out of punctuation runs.
constexpr std::string_view kQwen35 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Tekken (Mistral NeMo and later): GPT-4o's case-aware words without contractions, one digit at a time.
constexpr std::string_view kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Youtu: Hangul, CJK punctuation, Bopomofo and CJK/kana runs first, then Tekken's words with contractions.
constexpr std::string_view kYoutuCjk =
    "[\uac00-\ud7a3\u3131-\u318e]+|[\uff01\u2026\u201c\u201d\u2018\u2019\u2014\uff1a\uff1b\uff0c\u3001-\u303f\ufe30-\ufe4f]+|"
    "[\u3105-\u312f]+|[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+";
constexpr std::string_view kYoutuWords =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// BLOOM, Poro, GPT-3 Finnish, Viking: a word is an optional space and a run of anything but
// blanks, parentheses, the bar and sentence punctuation of several scripts.
constexpr std::string_view kBloom = " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+";
// Chameleon: its sentinel and image tokens, tabs, newlines and runs of 2 or 4 spaces, digits,
// single punctuation marks, then GPT-2's words.
constexpr std::string_view kChameleonSentinel = "<sentinel:[0-9]+>";
constexpr std::string_view kChameleonImage = "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z";
constexpr std::string_view kChameleonBlanks = "([\\t\\n]|    |  )";
// Tiny Aya: digits in groups of three counted from the right, then GPT-4o's words.
constexpr std::string_view kTinyAyaDigits = R"(\d{1,3}(?=(?:\d{3})*\b))";
// Kimi K2: runs of Han, then GPT-4o's words with Han left out of the letter classes.
constexpr std::string_view kKimiK2 =
    R"(\p{Han}+|[^\r\n\p{L}\p{N}]?(?:(?!\p{Han})[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])*(?:(?!\p{Han})[\p{Ll}\p{Lm}\p{Lo}\p{M}])+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?(?:(?!\p{Han})[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])+(?:(?!\p{Han})[\p{Ll}\p{Lm}\p{Lo}\p{M}])*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// SuperBPE: digit runs, each cut before every group of three digits that ends it (an empty
// match: a cut, no word of its own).
constexpr std::string_view kDigitTriplesFromTheRight = R"((?=(\d{3})+(?!\d)))";
// Ling (BailingMoE), LLaDA-MoE: Qwen 2's with its possessive quantifiers, and one line break at a time.
constexpr std::string_view kBailingMoe =
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";
// Seed-Coder: Qwen 2's, with line breaks kept out of punctuation runs.
constexpr std::string_view kSeedCoder =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
// AFMoE: digit runs in groups of three counted from the right, runs of CJK, kana, Thai, Lao,
// Khmer, Myanmar and Hangul, then DeepSeek V3's words.
constexpr std::string_view kAfmoeDigits = R"(\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N})))";
// The script ranges are llama.cpp's as its source spells them: the third and seventh start at
// U+8C48 and U+0E40 (U+F900 and U+0E00 look meant), so they take in more than CJK compatibility
// ideographs and Thai; tern cuts as llama.cpp does.
constexpr std::string_view kAfmoeScripts =
    "[\u4e00-\u9fff\u3400-\u4dbf\u8c48-\ufaff\u3040-\u309f\u30a0-\u30ff\uff65-\uff9f\u2f00-\u2fdf\u0e40-\u0e7f"
    "\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f\uaa60-\uaa7f\ua9e0-\ua9ff\uac00-\ud7af\u1100-\u11ff]+";
// EXAONE MoE: words may span single spaces between letters; one line break at a time.
constexpr std::string_view kExaoneMoe =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)";
// Gemma 4: no word splitting beyond runs of line breaks and of other text (its BPE runs over
// SentencePiece's alphabet, PreTokenizer::sentencepiece_alphabet).
constexpr std::string_view kLinesAndLineBreaks = "[^\n]+|[\n]+";
// llama.cpp's "default": punctuation runs, GPT-2's words, digit runs, runs of three ASCII digits.
constexpr std::string_view kDefaultPunctuation = R"([\p{P}\$\+<=>\^~\|]+)";

struct Entry {
    std::string_view name;
    std::array<std::string_view, 24> aliases;   // GGUF names; empty slots unused
    std::array<std::string_view, 6> patterns;
    bool ignore_merges;
    bool sentencepiece_alphabet = false;
};

// llama.cpp's names (its llama-vocab.cpp), grouped by the rules they stand for.
constexpr std::array kEntries = std::to_array<Entry>({
    {"llama3",
     {"llama3", "llama-bpe", "llama-v3", "falcon3", "falcon_e", "laguna", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
      "jina-v5-nano"},
     {kLlama3},
     true},
    // Llama 3's regex, merging every word.
    {"dbrx", {"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"}, {kLlama3}, false},
    {"gpt-2",
     {"gpt-2", "gpt2", "mpt", "olmo", "phi-2", "jais", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "jina-v1-en",
      "jina-v2-code", "roberta-bpe", "gigachat", "a.x-4.0", "mellum", "modern-bert", "exaone4", "trillion",
      "granite-docling"},
     {kGpt2},
     false},
    {"qwen2",
     {"qwen2", "stablelm2", "megrez", "deepseek-r1-qwen", "hunyuan", "solar-open", "kormo", "openpangu", "f2llmv2",
      "grok-2"},
     {kQwen2},
     false},
    {"qwen35", {"qwen35"}, {kQwen35}, false},
    {"deepseek-v3", {"deepseek-v3", "hunyuan-dense", "joyai-llm"}, {kDeepSeekV3Digits, kDeepSeekV3Cjk, kDeepSeekV3Words}, false},
    {"gpt-4o", {"gpt-4o", "llama4", "kanana2", "minimax-m2"}, {kGpt4o}, false},
    {"falcon", {"falcon"}, {kFalconPunctuation, kGpt2Words, kThreeAsciiDigits}, false},
    {"starcoder",
     {"starcoder", "refact", "smollm", "codeshell", "exaone", "command-r", "cohere2_moe", "minerva-7b", "mellum2"},
     {kEachDigit, kGpt2Words},
     false},
    {"deepseek-llm", {"deepseek-llm"},
     {kLineBreak, kDeepSeekLlmLetters, kDeepSeekLlmPunctuation, kTrailingSpace, kCjkHangul, kDigitRuns}, false},
    {"deepseek-coder", {"deepseek-coder"},
     {kLineBreak, kDeepSeekCoderLetters, kDeepSeekCoderPunctuation, kCjkHangul, kEachDigit}, false},
    {"jais-2", {"jais-2"}, {kJais2}, false},
    {"tekken", {"tekken"}, {kTekken}, true},
    {"youtu", {"youtu"}, {kYoutuCjk, kYoutuWords}, true},
    {"bloom", {"bloom", "poro-chat", "gpt3-finnish"}, {kBloom}, false},
    {"viking", {"viking"}, {kBloom, kEachDigit}, false},
    {"chameleon", {"chameleon"},
     {kChameleonSentinel, kChameleonImage, kChameleonBlanks, kEachDigit, kPunctuationMark, kGpt2Words}, false},
    {"tiny_aya", {"tiny_aya"}, {kTinyAyaDigits, kGpt4o}, false},
    {"kimi-k2", {"kimi-k2"}, {kKimiK2}, false},
    {"superbpe", {"superbpe"}, {kDigitRuns, kDigitTriplesFromTheRight}, false},
    {"bailingmoe", {"bailingmoe", "bailingmoe2", "llada-moe"}, {kBailingMoe}, false},
    {"seed-coder", {"seed-coder"}, {kSeedCoder}, false},
    {"afmoe", {"afmoe"}, {kAfmoeDigits, kAfmoeScripts, kDeepSeekV3Words}, false},
    {"exaone-moe", {"exaone-moe"}, {kExaoneMoe}, false},
    {"default", {"default"}, {kDefaultPunctuation, kGpt2Words, kDigitRuns, kThreeAsciiDigits}, false},
    {"gemma4", {"gemma4"}, {kLinesAndLineBreaks}, false, true},
});

PreTokenizer make(const Entry& e) {
    PreTokenizer p{.name = std::string(e.name), .patterns = {}, .ignore_merges = e.ignore_merges,
                   .sentencepiece_alphabet = e.sentencepiece_alphabet};
    for (std::string_view pattern : e.patterns)
        if (!pattern.empty()) p.patterns.emplace_back(pattern);
    return p;
}

}  // namespace

std::optional<PreTokenizer> pre_tokenizer_by_name(std::string_view name) {
    for (const Entry& e : kEntries)
        for (std::string_view alias : e.aliases)
            if (!alias.empty() && alias == name) return make(e);
    return std::nullopt;
}

std::optional<PreTokenizer> pre_tokenizer_by_patterns(const std::vector<std::string>& patterns) {
    // Patterns are all a byte-level file spells; Gemma 4's name also means another alphabet.
    for (const Entry& e : kEntries)
        if (PreTokenizer p = make(e); p.patterns == patterns && !p.sentencepiece_alphabet) return p;
    return std::nullopt;
}

std::string_view gpt2_pattern() { return kGpt2; }

std::string pre_tokenizer_names() {
    std::string names;
    for (const Entry& e : kEntries)
        for (std::string_view alias : e.aliases)
            if (!alias.empty()) names += (names.empty() ? "" : ", ") + std::string(alias);
    return names;
}

}  // namespace tern::tokenizer
