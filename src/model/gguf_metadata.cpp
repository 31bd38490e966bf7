#include "model/gguf_metadata.h"

#include <string>
#include <vector>

#include "core/str_cat.h"

namespace tern::model {

using format::GgufValue;

void write_hparams_metadata(format::GgufWriter& w, std::string_view gguf_arch, std::string_view name, const Hparams& hp) {
    const std::string a = str_cat(gguf_arch, ".");
    const auto u32 = [](size_t v) { return GgufValue::u32(static_cast<uint32_t>(v)); };
    (void)w.add_metadata("general.architecture", GgufValue::string(std::string(gguf_arch)));
    (void)w.add_metadata("general.name", GgufValue::string(std::string(name)));
    (void)w.add_metadata(a + "vocab_size", u32(hp.n_vocab));
    (void)w.add_metadata(a + "context_length", u32(hp.n_ctx_train));
    (void)w.add_metadata(a + "embedding_length", u32(hp.n_embd));
    (void)w.add_metadata(a + "block_count", u32(hp.n_layer));
    (void)w.add_metadata(a + "feed_forward_length", u32(hp.n_ff));
    (void)w.add_metadata(a + "rope.dimension_count", u32(hp.head_dim));
    (void)w.add_metadata(a + "attention.head_count", u32(hp.n_head));
    (void)w.add_metadata(a + "attention.head_count_kv", u32(hp.n_head_kv));
    if (hp.head_dim * hp.n_head != hp.n_embd) (void)w.add_metadata(a + "attention.key_length", u32(hp.head_dim));
    (void)w.add_metadata(a + "attention.layer_norm_rms_epsilon", GgufValue::f32(hp.norm_eps));
    (void)w.add_metadata(a + "rope.freq_base", GgufValue::f32(hp.rope_theta));
}

void write_vocabulary_metadata(format::GgufWriter& w, const tokenizer::Vocabulary& vocab) {
    const bool spm = vocab.kind == tokenizer::VocabKind::kSpm;
    const char* model = spm ? "llama" : vocab.pre == "gemma4" ? "gemma4" : "gpt2";   // as llama.cpp names them
    (void)w.add_metadata("tokenizer.ggml.model", GgufValue::string(model));
    if (!vocab.pre.empty()) (void)w.add_metadata("tokenizer.ggml.pre", GgufValue::string(vocab.pre));
    // A tokenizer.json pre-tokenizer is carried as it was read (llama.cpp knows only names).
    if (!vocab.pre_patterns.empty()) {
        (void)w.add_metadata("tern.tokenizer.pre_patterns", GgufValue::string_array(vocab.pre_patterns));
        (void)w.add_metadata("tern.tokenizer.pre_ignore_merges", GgufValue::boolean(vocab.pre_ignore_merges));
    }
    const tokenizer::TextNormalization& norm = vocab.normalization;
    for (const auto& [key, on] : {std::pair{"tern.tokenizer.normalize_nfc", norm.nfc}, {"tern.tokenizer.normalize_nfkc", norm.nfkc},
                                  {"tern.tokenizer.strip_left", norm.strip_left}, {"tern.tokenizer.strip_right", norm.strip_right},
                                  {"tern.tokenizer.strip_first", norm.strip_first}})
        if (on) (void)w.add_metadata(key, GgufValue::boolean(true));
    for (const auto& [key, ids] : {std::pair{"tern.tokenizer.lstrip_tokens", &vocab.lstrip_tokens},
                                   {"tern.tokenizer.rstrip_tokens", &vocab.rstrip_tokens}})
        if (!ids->empty())
            (void)w.add_metadata(key, GgufValue::array<int32_t>(format::GgufType::kInt32, std::span<const int32_t>(*ids)));
    (void)w.add_metadata("tokenizer.ggml.tokens", GgufValue::string_array(vocab.tokens));
    (void)w.add_metadata("tokenizer.ggml.scores",
                         GgufValue::array<float>(format::GgufType::kFloat32, std::span<const float>(vocab.scores)));
    std::vector<int32_t> types;
    for (const tokenizer::TokenType t : vocab.types) types.push_back(static_cast<int32_t>(t));
    (void)w.add_metadata("tokenizer.ggml.token_type",
                         GgufValue::array<int32_t>(format::GgufType::kInt32, std::span<const int32_t>(types)));
    if (!vocab.merges.empty()) (void)w.add_metadata("tokenizer.ggml.merges", GgufValue::string_array(vocab.merges));
    const auto id = [&](const char* key, int32_t v) {
        if (v >= 0) (void)w.add_metadata(key, GgufValue::u32(static_cast<uint32_t>(v)));
    };
    id("tokenizer.ggml.bos_token_id", vocab.bos);
    id("tokenizer.ggml.eos_token_id", vocab.eos);
    id("tokenizer.ggml.unknown_token_id", vocab.unk);
    id("tokenizer.ggml.eot_token_id", vocab.eot);
    (void)w.add_metadata("tokenizer.ggml.add_bos_token", GgufValue::boolean(vocab.add_bos));
    (void)w.add_metadata("tokenizer.ggml.add_eos_token", GgufValue::boolean(vocab.add_eos));
    (void)w.add_metadata("tokenizer.ggml.add_space_prefix", GgufValue::boolean(vocab.add_space_prefix));
    if (!vocab.chat_template.empty()) (void)w.add_metadata("tokenizer.chat_template", GgufValue::string(vocab.chat_template));
}

}  // namespace tern::model
