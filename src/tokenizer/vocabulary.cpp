#include "tokenizer/vocabulary.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "core/str_cat.h"

namespace tern::tokenizer {
namespace {

using format::GgufType;
using format::GgufValue;

Result<const GgufValue*> array_of(const format::GgufContents& gguf, const std::string& key, GgufType elem,
                                  bool required) {
    const GgufValue* v = gguf.find(key);
    if (v == nullptr) {
        if (required) return Error(str_cat("metadata '", key, "' is missing"));
        return static_cast<const GgufValue*>(nullptr);
    }
    if (!v->is_array() || v->elem_type() != elem)
        return Error(str_cat("metadata '", key, "' should be an array of ", format::gguf_type_name(elem)));
    return v;
}

Status read_id(const format::GgufContents& gguf, const std::string& key, size_t n_tokens, int32_t& id) {
    const GgufValue* v = gguf.find(key);
    if (v == nullptr) return {};
    const std::optional<uint64_t> value = v->as_uint();
    if (!value || *value >= n_tokens)
        return Error(str_cat("metadata '", key, "' should be a token id below ", n_tokens));
    id = static_cast<int32_t>(*value);
    return {};
}

// tern's own arrays of token ids (sorted on reading); each id must be inside the vocabulary.
Status read_ids(const format::GgufContents& gguf, const std::string& key, size_t n_tokens, std::vector<int32_t>& ids) {
    TERN_ASSIGN_OR_RETURN(const GgufValue* array, array_of(gguf, key, GgufType::kInt32, false));
    if (array == nullptr) return {};
    for (uint64_t i = 0; i < array->size(); ++i) {
        const int32_t id = array->element<int32_t>(i);
        if (id < 0 || static_cast<size_t>(id) >= n_tokens)
            return Error(str_cat("metadata '", key, "' element ", i, " is ", id, ", not a token id below ", n_tokens));
        ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    return {};
}

void read_flag(const format::GgufContents& gguf, const std::string& key, bool& flag) {
    if (const GgufValue* v = gguf.find(key); v != nullptr && v->as_bool()) flag = *v->as_bool();
}

}  // namespace

bool Vocabulary::is_end_of_generation(int32_t id) const {
    return std::find(end_of_generation.begin(), end_of_generation.end(), id) != end_of_generation.end();
}

void index_vocabulary(Vocabulary& vocab) {
    vocab.id_by_text.clear();
    vocab.id_by_text.reserve(vocab.tokens.size());
    for (size_t i = 0; i < vocab.tokens.size(); ++i) vocab.id_by_text.emplace(vocab.tokens[i], static_cast<int32_t>(i));
    vocab.byte_tokens.assign(256, -1);
    for (int b = 0; b < 256; ++b) {
        char text[8];
        std::snprintf(text, sizeof text, "<0x%02X>", b);
        vocab.byte_tokens[b] = vocab.find(text);
    }
    vocab.spm_tokens_stay_in_words = true;
    for (const std::string& t : vocab.tokens) {
        // A marker anywhere but in the token's leading run of markers joins two words.
        size_t lead = 0;
        while (t.compare(lead, 3, "\xe2\x96\x81") == 0) lead += 3;
        if (t.find("\xe2\x96\x81", lead) != std::string::npos) {
            vocab.spm_tokens_stay_in_words = false;
            break;
        }
    }
    vocab.end_of_generation.clear();
    for (int32_t id : {vocab.eos, vocab.eot})
        if (id >= 0) vocab.end_of_generation.push_back(id);
    for (std::string_view text : {"<|eot_id|>", "<|end_of_text|>", "<|im_end|>", "<end_of_turn>", "<|endoftext|>"}) {
        const int32_t id = vocab.find(text);
        if (id >= 0 && !vocab.is_end_of_generation(id)) vocab.end_of_generation.push_back(id);
    }
}

Result<Vocabulary> vocabulary_from_gguf(const format::GgufContents& gguf) {
    Vocabulary vocab;
    const GgufValue* model = gguf.find("tokenizer.ggml.model");
    if (model == nullptr || model->as_string() == nullptr) return Error("no tokenizer in the file (tokenizer.ggml.model)");
    if (*model->as_string() == "llama") {
        vocab.kind = VocabKind::kSpm;
        vocab.bos = 1, vocab.eos = 2, vocab.unk = 0;
        vocab.add_bos = true, vocab.add_space_prefix = true;
    } else if (*model->as_string() == "gpt2" || *model->as_string() == "gemma4") {
        vocab.kind = VocabKind::kBpe;
    } else {
        return Error(str_cat("tokenizer.ggml.model '", *model->as_string(), "' is not supported (llama, gpt2 or gemma4)"));
    }
    if (const GgufValue* pre = gguf.find("tokenizer.ggml.pre"); pre != nullptr && pre->as_string())
        vocab.pre = *pre->as_string();
    // Gemma 4's tokenizer is BPE over SentencePiece's alphabet, whatever the file's pre says.
    const bool gemma4 = *model->as_string() == "gemma4";
    if (gemma4) vocab.pre = "gemma4";
    // tern's own keys for a tokenizer.json pre-tokenizer that has no llama.cpp name.
    TERN_ASSIGN_OR_RETURN(const GgufValue* patterns,
                          array_of(gguf, "tern.tokenizer.pre_patterns", GgufType::kString, false));
    if (patterns != nullptr)
        for (uint64_t i = 0; i < patterns->size(); ++i) vocab.pre_patterns.push_back(patterns->string_element(i));
    read_flag(gguf, "tern.tokenizer.pre_ignore_merges", vocab.pre_ignore_merges);
    read_flag(gguf, "tern.tokenizer.normalize_nfc", vocab.normalization.nfc);
    read_flag(gguf, "tern.tokenizer.normalize_nfkc", vocab.normalization.nfkc);
    read_flag(gguf, "tern.tokenizer.strip_left", vocab.normalization.strip_left);
    read_flag(gguf, "tern.tokenizer.strip_right", vocab.normalization.strip_right);
    read_flag(gguf, "tern.tokenizer.strip_first", vocab.normalization.strip_first);

    TERN_ASSIGN_OR_RETURN(const GgufValue* tokens, array_of(gguf, "tokenizer.ggml.tokens", GgufType::kString, true));
    const size_t n = tokens->size();
    if (n == 0) return Error("metadata 'tokenizer.ggml.tokens' is empty");
    vocab.tokens.reserve(n);
    for (uint64_t i = 0; i < n; ++i) vocab.tokens.push_back(tokens->string_element(i));

    TERN_ASSIGN_OR_RETURN(const GgufValue* scores, array_of(gguf, "tokenizer.ggml.scores", GgufType::kFloat32, false));
    TERN_ASSIGN_OR_RETURN(const GgufValue* types, array_of(gguf, "tokenizer.ggml.token_type", GgufType::kInt32, false));
    if (scores != nullptr && scores->size() < n) return Error("metadata 'tokenizer.ggml.scores' is shorter than the vocabulary");
    if (types != nullptr && types->size() < n) return Error("metadata 'tokenizer.ggml.token_type' is shorter than the vocabulary");
    vocab.scores.resize(n, 0.0f);
    vocab.types.resize(n, TokenType::kNormal);
    for (uint64_t i = 0; i < n; ++i) {
        if (scores != nullptr) vocab.scores[i] = scores->element<float>(i);
        if (types != nullptr) {
            const int32_t t = types->element<int32_t>(i);
            vocab.types[i] = t >= 0 && t <= 6 ? static_cast<TokenType>(t) : TokenType::kUndefined;
        }
    }
    if (vocab.kind == VocabKind::kBpe) {
        TERN_ASSIGN_OR_RETURN(const GgufValue* merges, array_of(gguf, "tokenizer.ggml.merges", GgufType::kString, true));
        vocab.merges.reserve(merges->size());
        for (uint64_t i = 0; i < merges->size(); ++i) vocab.merges.push_back(merges->string_element(i));
    }
    TERN_TRY(read_id(gguf, "tokenizer.ggml.bos_token_id", n, vocab.bos));
    TERN_TRY(read_id(gguf, "tokenizer.ggml.eos_token_id", n, vocab.eos));
    TERN_TRY(read_id(gguf, "tokenizer.ggml.unknown_token_id", n, vocab.unk));
    TERN_TRY(read_id(gguf, "tokenizer.ggml.eot_token_id", n, vocab.eot));
    TERN_TRY(read_ids(gguf, "tern.tokenizer.lstrip_tokens", n, vocab.lstrip_tokens));
    TERN_TRY(read_ids(gguf, "tern.tokenizer.rstrip_tokens", n, vocab.rstrip_tokens));
    read_flag(gguf, "tokenizer.ggml.add_bos_token", vocab.add_bos);
    vocab.add_bos_given = gguf.find("tokenizer.ggml.add_bos_token") != nullptr;
    read_flag(gguf, "tokenizer.ggml.add_eos_token", vocab.add_eos);
    read_flag(gguf, "tokenizer.ggml.add_space_prefix", vocab.add_space_prefix);
    if (const GgufValue* chat = gguf.find("tokenizer.chat_template"); chat != nullptr && chat->as_string())
        vocab.chat_template = *chat->as_string();
    for (int32_t id : {vocab.bos, vocab.eos, vocab.unk})
        if (id >= static_cast<int32_t>(n)) return Error(str_cat("special token id ", id, " is outside the vocabulary"));
    index_vocabulary(vocab);
    return vocab;
}

}  // namespace tern::tokenizer
