#include "model/hparams.h"

#include <cmath>
#include <optional>
#include <string>

#include "core/str_cat.h"

namespace tern::model {
namespace {

constexpr size_t kMaxEmbd = size_t{1} << 16;
constexpr size_t kMaxLayers = 1024;
constexpr size_t kMaxVocab = size_t{1} << 22;
constexpr size_t kMaxContext = size_t{1} << 22;

Result<std::optional<uint64_t>> read_uint(const format::GgufContents& gguf, const std::string& key) {
    const format::GgufValue* value = gguf.find(key);
    if (value == nullptr) return std::optional<uint64_t>();
    std::optional<uint64_t> v = value->as_uint();
    if (!v) return Error(str_cat("metadata '", key, "' should be a non-negative integer, found ",
                                 format::gguf_type_name(value->type())));
    return v;
}

Result<std::optional<double>> read_float(const format::GgufContents& gguf, const std::string& key) {
    const format::GgufValue* value = gguf.find(key);
    if (value == nullptr) return std::optional<double>();
    std::optional<double> v = value->as_float();
    if (!v) return Error(str_cat("metadata '", key, "' should be a float, found ", format::gguf_type_name(value->type())));
    return v;
}

Status require(const format::GgufContents& gguf, const std::string& key, size_t& out) {
    TERN_ASSIGN_OR_RETURN(std::optional<uint64_t> v, read_uint(gguf, key));
    if (!v) return Error(str_cat("metadata '", key, "' is missing"));
    out = *v;
    return {};
}

}  // namespace

size_t Hparams::dim(Dim d) const {
    switch (d) {
        case Dim::kEmbd: return n_embd;
        case Dim::kVocab: return n_vocab;
        case Dim::kFf: return n_ff;
        case Dim::kQ: return q_dim();
        case Dim::kKv: return kv_dim();
        case Dim::kEmbd2: return 2 * n_embd;
        case Dim::kFf2: return 2 * n_ff;
        case Dim::kLayer: return n_layer;
        case Dim::kNone: return 1;
    }
    return 0;
}

Status validate_hparams(const Hparams& hp, bool attention) {
    auto in_range = [](std::string_view name, size_t v, size_t max) -> Status {
        if (v == 0 || v > max) return Error(str_cat(name, " = ", v, " is outside [1, ", max, "]"));
        return {};
    };
    TERN_TRY(in_range("n_embd", hp.n_embd, kMaxEmbd));
    TERN_TRY(in_range("n_layer", hp.n_layer, kMaxLayers));
    TERN_TRY(in_range("n_ff", hp.n_ff, kMaxEmbd * 8));
    TERN_TRY(in_range("n_vocab", hp.n_vocab, kMaxVocab));
    TERN_TRY(in_range("n_head", hp.n_head, hp.n_embd));
    TERN_TRY(in_range("n_head_kv", hp.n_head_kv, hp.n_head));
    TERN_TRY(in_range("head_dim", hp.head_dim, attention ? 1024 : kMaxEmbd));
    TERN_TRY(in_range("context_length", hp.n_ctx_train, kMaxContext));
    if (hp.n_head % hp.n_head_kv != 0)
        return Error(str_cat("n_head = ", hp.n_head, " is not a multiple of n_head_kv = ", hp.n_head_kv));
    if (hp.head_dim % 2 != 0) return Error(str_cat("head_dim = ", hp.head_dim, " is odd (rope needs pairs)"));
    if (!(hp.rope_theta > 0.0f) || !std::isfinite(hp.rope_theta))
        return Error(str_cat("rope theta = ", hp.rope_theta, " is not a positive number"));
    if (!(hp.norm_eps > 0.0f) || !(hp.norm_eps < 1.0f))
        return Error(str_cat("rms norm eps = ", hp.norm_eps, " is outside (0, 1)"));
    return {};
}

Result<Hparams> hparams_from_gguf(const format::GgufContents& gguf, std::string_view arch_key, size_t vocab_rows) {
    const std::string p = str_cat(arch_key, ".");
    Hparams hp;
    TERN_TRY(require(gguf, p + "embedding_length", hp.n_embd));
    TERN_TRY(require(gguf, p + "block_count", hp.n_layer));
    TERN_TRY(require(gguf, p + "feed_forward_length", hp.n_ff));
    TERN_TRY(require(gguf, p + "attention.head_count", hp.n_head));
    TERN_TRY(require(gguf, p + "context_length", hp.n_ctx_train));
    TERN_ASSIGN_OR_RETURN(std::optional<uint64_t> kv, read_uint(gguf, p + "attention.head_count_kv"));
    hp.n_head_kv = kv.value_or(hp.n_head);
    if (hp.n_head == 0) return Error(str_cat("metadata '", p, "attention.head_count' is 0"));
    TERN_ASSIGN_OR_RETURN(std::optional<uint64_t> key_length, read_uint(gguf, p + "attention.key_length"));
    TERN_ASSIGN_OR_RETURN(std::optional<uint64_t> value_length, read_uint(gguf, p + "attention.value_length"));
    hp.head_dim = key_length.value_or(hp.n_embd / hp.n_head);
    if (value_length.value_or(hp.head_dim) != hp.head_dim)
        return Error(str_cat("metadata: key_length ", hp.head_dim, " != value_length ", *value_length,
                             " (not supported)"));
    TERN_ASSIGN_OR_RETURN(std::optional<uint64_t> rope_dims, read_uint(gguf, p + "rope.dimension_count"));
    if (rope_dims && *rope_dims != hp.head_dim)
        return Error(str_cat("metadata '", p, "rope.dimension_count' = ", *rope_dims, " differs from head_dim ",
                             hp.head_dim, " (partial rope is not supported)"));
    TERN_ASSIGN_OR_RETURN(std::optional<double> theta, read_float(gguf, p + "rope.freq_base"));
    TERN_ASSIGN_OR_RETURN(std::optional<double> eps, read_float(gguf, p + "attention.layer_norm_rms_epsilon"));
    hp.rope_theta = static_cast<float>(theta.value_or(10000.0));
    hp.norm_eps = static_cast<float>(eps.value_or(1e-5));
    TERN_ASSIGN_OR_RETURN(std::optional<uint64_t> vocab, read_uint(gguf, p + "vocab_size"));
    hp.n_vocab = vocab.value_or(vocab_rows);
    if (const format::GgufValue* scaling = gguf.find(p + "rope.scaling.type")) {
        const std::string* type = scaling->as_string();
        TERN_ASSIGN_OR_RETURN(std::optional<double> factor, read_float(gguf, p + "rope.scaling.factor"));
        const bool no_op = type != nullptr && (*type == "none" || (*type == "linear" && factor.value_or(1.0) == 1.0));
        if (!no_op)
            return Error(str_cat("metadata '", p, "rope.scaling.type' = ", type ? *type : "(not a string)",
                                 " is not supported"));
    }
    const Architecture* arch = find_gguf_architecture(arch_key);
    const bool attention = arch == nullptr || arch->family != ModelFamily::kGatedRecurrent;
    if (Status valid = validate_hparams(hp, attention); !valid.ok()) return valid.error().within("hyper-parameters");
    return hp;
}

}  // namespace tern::model
