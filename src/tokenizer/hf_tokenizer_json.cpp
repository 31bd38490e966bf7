#include "tokenizer/hf_tokenizer_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unordered_map>

#include "core/mapped_file.h"
#include "core/str_cat.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/tokenizer_config.h"

namespace tern::tokenizer {
namespace {

using nlohmann::json;

constexpr size_t kMaxTokenizerJsonBytes = size_t{512} << 20;
constexpr size_t kMaxVocab = size_t{1} << 22;
// A Split step's regex as tern applies it: "Isolated" (Hugging Face's default: matches and the
// text between them become words) as it is, "Removed" inverted (only the matches are words)
// behind kMatchesOnlyMarker; anything else is refused rather than tokenized differently.
Result<std::string> split_pattern(const json& step) {
    if (!step.contains("pattern") || !step["pattern"].is_object() || !step["pattern"].contains("Regex") ||
        !step["pattern"]["Regex"].is_string())
        return Error(str_cat("pre_tokenizer Split ", step.dump().substr(0, 120), " has no Regex pattern"));
    const std::string behavior = step.value("behavior", "Isolated");
    const bool invert = step.value("invert", false);
    const std::string regex = step["pattern"]["Regex"].get<std::string>();
    if (behavior == "Isolated" && !invert) return regex;
    if (behavior == "Removed" && invert) return str_cat(kMatchesOnlyMarker, regex);
    return Error(str_cat("pre_tokenizer Split with behavior '", behavior, "'", invert ? " inverted" : "",
                         " is not supported (Isolated, or Removed inverted)"));
}

// The byte-level pre-tokenizer: Split regexes in turn, then ByteLevel (whose use_regex adds
// GPT-2's pattern). Named after a known one when the patterns are exactly its own.
Status read_pre_tokenizer(const json& pre, Vocabulary& vocab) {
    if (!pre.is_object()) return Error("tokenizer.json has no pre_tokenizer (byte-level BPE needs one)");
    const json steps = pre.value("type", "") == "Sequence" ? pre.value("pretokenizers", json::array()) : json::array({pre});
    std::vector<std::string> patterns;
    bool byte_level = false;
    for (const json& step : steps) {
        const std::string type = step.is_object() ? step.value("type", "") : "";
        if (type == "Split") {
            TERN_ASSIGN_OR_RETURN(std::string pattern, split_pattern(step));
            patterns.push_back(std::move(pattern));
        } else if (type == "Digits") {
            patterns.emplace_back(step.value("individual_digits", false) ? kEachDigit : kDigitRuns);
        } else if (type == "Punctuation") {
            // "Isolated" (the default) cuts each mark alone, "Contiguous" runs of them.
            const std::string behavior = step.value("behavior", "Isolated");
            if (behavior != "Isolated" && behavior != "Contiguous" && behavior != "isolated" && behavior != "contiguous")
                return Error(str_cat("pre_tokenizer Punctuation with behavior '", behavior,
                                     "' is not supported (Isolated, Contiguous)"));
            patterns.emplace_back(str_cat(kPunctuationMark, behavior == "Isolated" || behavior == "isolated" ? "" : "+"));
        } else if (type == "ByteLevel") {
            byte_level = true;
            if (step.value("add_prefix_space", false))
                return Error("pre_tokenizer ByteLevel with add_prefix_space is not supported");
            if (step.value("use_regex", true)) patterns.emplace_back(gpt2_pattern());
        } else {
            return Error(str_cat("pre_tokenizer step '", type, "' is not supported (Split, Digits, Punctuation, ByteLevel)"));
        }
    }
    if (!byte_level) return Error("pre_tokenizer has no ByteLevel step (byte-level BPE needs one)");
    if (patterns.empty()) return Error("pre_tokenizer splits nothing (no Split regex, ByteLevel without use_regex)");
    const std::optional<PreTokenizer> known = pre_tokenizer_by_patterns(patterns);
    vocab.pre = known ? known->name : "tokenizer.json";
    vocab.pre_patterns = std::move(patterns);
    return {};
}

// NFC, NFKC, Strip, or a Sequence of them (nothing: an empty one); other normalisers are
// refused for byte-level BPE. Sequences nest at most a few levels (a hostile file could nest
// them until the stack ran out); a Strip on both sides of the normal form is refused too.
Status read_normalizer_step(const json& norm, TextNormalization& out, int depth = 0) {
    const std::string type = norm.is_object() ? norm.value("type", "") : "";
    const bool composed = out.nfc || out.nfkc;
    if (type == "NFC" || type == "NFKC") {
        if (composed && (out.strip_left || out.strip_right) && !out.strip_first)
            return Error("normalizer Strip between two normal forms is not supported");
        (type == "NFC" ? out.nfc : out.nfkc) = true;
        out.strip_first = out.strip_left || out.strip_right;
    } else if (type == "Strip") {
        if (composed && out.strip_first)
            return Error("normalizer Strip both before and after NFC/NFKC is not supported");
        out.strip_left = out.strip_left || norm.value("strip_left", true);
        out.strip_right = out.strip_right || norm.value("strip_right", true);
    } else if (type == "Sequence" && norm.contains("normalizers") && norm["normalizers"].is_array()) {
        if (depth >= 8) return Error("normalizer Sequences nest deeper than 8 levels");
        for (const json& step : norm["normalizers"]) TERN_TRY(read_normalizer_step(step, out, depth + 1));
    } else {
        return Error(str_cat("normalizer ", norm.dump().substr(0, 120),
                             " is not supported for byte-level BPE (NFC, NFKC, Strip, Sequence)"));
    }
    return {};
}

Status read_normalizer(const json& doc, Vocabulary& vocab) {
    const json& norm = doc.contains("normalizer") ? doc["normalizer"] : json();
    if (norm.is_null()) return {};
    return read_normalizer_step(norm, vocab.normalization);
}

std::string token_text(const json& j) {   // "<s>" or {"content": "<s>", ...}
    if (j.is_string()) return j.get<std::string>();
    if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
    return {};
}

Status read_vocab(const json& model, Vocabulary& vocab) {
    const json& v = model.at("vocab");
    if (!v.is_object()) return Error("model.vocab is not an object");
    for (const auto& [text, id] : v.items()) {
        if (!id.is_number_unsigned() || id.get<uint64_t>() >= kMaxVocab)
            return Error(str_cat("model.vocab['", text, "'] is not an id below ", kMaxVocab));
        const size_t i = id.get<size_t>();
        if (i >= vocab.tokens.size()) vocab.tokens.resize(i + 1);
        vocab.tokens[i] = text;
    }
    for (const json& m : model.at("merges")) {
        if (m.is_string()) {
            vocab.merges.push_back(m.get<std::string>());
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            vocab.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
        } else {
            return Error(str_cat("model.merges entry ", vocab.merges.size(), " is neither \"a b\" nor [\"a\", \"b\"]"));
        }
    }
    return {};
}

Status read_added_tokens(const json& added, Vocabulary& vocab) {
    vocab.types.assign(vocab.tokens.size(), TokenType::kNormal);
    if (!added.is_array()) return {};
    for (const json& t : added) {
        if (!t.contains("id") || !t["id"].is_number_unsigned() || t["id"].get<uint64_t>() >= kMaxVocab)
            return Error("added_tokens entry without a valid id");
        const size_t id = t["id"].get<size_t>();
        if (id >= vocab.tokens.size()) {
            vocab.tokens.resize(id + 1);
            vocab.types.resize(id + 1, TokenType::kUnused);
        }
        vocab.tokens[id] = token_text(t);
        vocab.types[id] = t.value("special", false) ? TokenType::kControl : TokenType::kUserDefined;
        if (t.value("lstrip", false)) vocab.lstrip_tokens.push_back(static_cast<int32_t>(id));
        if (t.value("rstrip", false)) vocab.rstrip_tokens.push_back(static_cast<int32_t>(id));
    }
    for (std::vector<int32_t>* ids : {&vocab.lstrip_tokens, &vocab.rstrip_tokens}) {
        std::sort(ids->begin(), ids->end());
        ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
    }
    return {};
}

// Whether a normalizer (or one step of a Sequence) of this type has this "content" (Prepend's
// prefix) or, for a Replace, turns this pattern string into this content.
bool has_step(const json& norm, std::string_view type, std::string_view content, std::string_view pattern = {}) {
    if (!norm.is_object()) return false;
    if (norm.value("type", "") == "Sequence" && norm.contains("normalizers") && norm["normalizers"].is_array()) {
        for (const json& step : norm["normalizers"])
            if (has_step(step, type, content, pattern)) return true;
        return false;
    }
    if (norm.value("type", "") != type || norm.value(type == "Prepend" ? "prepend" : "content", "") != content) return false;
    if (pattern.empty()) return true;
    return norm.contains("pattern") && norm["pattern"].is_object() && norm["pattern"].value("String", "") == pattern;
}

// SentencePiece-style tokenizer.json: BPE with byte fallback over text whose spaces became "▁"
// (Llama 2: Prepend "▁" and Replace; Gemma 3: Replace only, then a Split on " " that finds no
// space left; or a Metaspace pre-tokenizer). tern runs it with its SentencePiece encoder: a
// token's score is minus the rank of the first merge that produces it, and tokens no merge
// produces are never merged (score -inf).
bool is_sentencepiece_style(const json& doc) {
    if (!doc["model"].value("byte_fallback", false)) return false;
    const json& norm = doc.contains("normalizer") ? doc["normalizer"] : json();
    const std::string pre = doc.contains("pre_tokenizer") ? doc["pre_tokenizer"].dump() : "";
    return has_step(norm, "Replace", "\xe2\x96\x81", " ") || norm.dump().find("Prepend") != std::string::npos || pre.find("Metaspace") != std::string::npos;
}

// The Metaspace pre-tokenizer, alone or in a Sequence; null when there is none.
const json* find_metaspace(const json& pre) {
    if (!pre.is_object()) return nullptr;
    if (pre.value("type", "") == "Metaspace") return &pre;
    if (pre.value("type", "") == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array())
        for (const json& step : pre["pretokenizers"])
            if (const json* found = find_metaspace(step)) return found;
    return nullptr;
}

// Whether "▁" goes before the text: a Prepend normalizer, or a Metaspace whose prepend_scheme
// is not "never" (older files say add_prefix_space instead).
bool prepends_space_marker(const json& doc) {
    const json& norm = doc.contains("normalizer") ? doc["normalizer"] : json();
    if (norm.dump().find("Prepend") != std::string::npos) return true;
    if (!doc.contains("pre_tokenizer")) return false;
    const json* metaspace = find_metaspace(doc["pre_tokenizer"]);
    if (metaspace == nullptr) return false;
    if (metaspace->contains("prepend_scheme") && (*metaspace)["prepend_scheme"].is_string())
        return (*metaspace)["prepend_scheme"].get<std::string>() != "never";
    return metaspace->value("add_prefix_space", true);
}

void set_sentencepiece_scores(Vocabulary& vocab) {
    vocab.scores.assign(vocab.tokens.size(), -INFINITY);
    std::unordered_map<std::string, int32_t> id_of;
    for (size_t i = 0; i < vocab.tokens.size(); ++i) id_of.emplace(vocab.tokens[i], static_cast<int32_t>(i));
    for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
        std::string merged = vocab.merges[rank];
        const size_t space = merged.find(' ');
        if (space == std::string::npos) continue;   // not "left right": it merges nothing
        merged.erase(space, 1);
        if (auto it = id_of.find(merged); it != id_of.end() && vocab.scores[it->second] == -INFINITY)
            vocab.scores[it->second] = -static_cast<float>(rank);
    }
    for (size_t i = 0; i < vocab.tokens.size(); ++i) {
        const std::string& t = vocab.tokens[i];
        if (t.size() == 6 && t.starts_with("<0x") && t.back() == '>' && vocab.types[i] == TokenType::kNormal)
            vocab.types[i] = TokenType::kByte;
    }
}

Result<Vocabulary> read_hf_json(std::string_view tokenizer_json, std::string_view config_json) {
    const json doc = json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return Error("tokenizer.json is not a JSON object");
    const json& model = doc.contains("model") ? doc["model"] : json();
    if (!model.is_object() || model.value("type", "") != "BPE" || !model.contains("vocab") || !model.contains("merges"))
        return Error("tokenizer.json: model is not a BPE model with vocab and merges");
    const bool spm = is_sentencepiece_style(doc);
    if (model.value("byte_fallback", false) && !spm)
        return Error("tokenizer.json: byte_fallback BPE without a U+2581 normaliser is not supported");
    Vocabulary vocab;
    vocab.kind = spm ? VocabKind::kSpm : VocabKind::kBpe;
    TERN_TRY(read_vocab(model, vocab));
    TERN_TRY(read_added_tokens(doc.value("added_tokens", json::array()), vocab));
    for (size_t i = 0; i < vocab.tokens.size(); ++i)
        if (vocab.tokens[i].empty()) vocab.types[i] = TokenType::kUnused;
    if (spm) {
        set_sentencepiece_scores(vocab);
        vocab.add_space_prefix = prepends_space_marker(doc);
        vocab.add_bos = true;
        vocab.unk = -1;
        if (model.contains("unk_token") && model["unk_token"].is_string()) {
            for (size_t i = 0; i < vocab.tokens.size(); ++i)
                if (vocab.tokens[i] == model["unk_token"].get<std::string>()) {
                    vocab.unk = static_cast<int32_t>(i);
                    vocab.types[i] = TokenType::kUnknown;
                }
        }
    } else {
        TERN_TRY(read_pre_tokenizer(doc.value("pre_tokenizer", json()), vocab));
        TERN_TRY(read_normalizer(doc, vocab));
        vocab.pre_ignore_merges = model.value("ignore_merges", false);
        vocab.scores.assign(vocab.tokens.size(), 0.0f);
    }
    index_vocabulary(vocab);

    if (!config_json.empty()) TERN_TRY(apply_tokenizer_config(config_json, vocab));
    if (vocab.bos < 0) vocab.bos = vocab.find(spm ? "<s>" : "<|begin_of_text|>");
    if (vocab.eos < 0) vocab.eos = vocab.find(spm ? "</s>" : "<|end_of_text|>");
    index_vocabulary(vocab);   // end-of-generation set with the final eos
    return vocab;
}

}  // namespace

Result<Vocabulary> vocabulary_from_hf_json(std::string_view tokenizer_json, std::string_view config_json) {
    // A field of the wrong type anywhere (a hostile or broken file) is one error, not a crash.
    try {
        return read_hf_json(tokenizer_json, config_json);
    } catch (const json::exception& e) {
        return Error(str_cat("tokenizer.json: ", e.what()));
    }
}

Result<Vocabulary> vocabulary_from_hf_json_file(const std::string& path) {
    TERN_ASSIGN_OR_RETURN(const std::string tokenizer_json, read_text_file(path, kMaxTokenizerJsonBytes));
    TERN_ASSIGN_OR_RETURN(const std::string config_json, sibling_tokenizer_config(path));
    Result<Vocabulary> vocab = vocabulary_from_hf_json(tokenizer_json, config_json);
    if (!vocab.ok()) return vocab.error().within(path);
    TERN_TRY(apply_chat_template_file(std::filesystem::path(path).parent_path().string(), vocab.value()));
    return vocab;
}

Result<Vocabulary> vocabulary_from_hf_folder(const std::string& dir) {
    return vocabulary_from_hf_json_file((std::filesystem::path(dir) / "tokenizer.json").string());
}

}  // namespace tern::tokenizer
