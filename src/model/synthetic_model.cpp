#include "model/synthetic_model.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/float16.h"
#include "core/str_cat.h"
#include "model/architecture.h"
#include "quant/block_formats.h"
#include "quant/ternary_formats.h"

namespace tern::model {
namespace {

using format::GgmlType;
using format::GgufValue;

constexpr SyntheticShape kShapes[] = {
    {.name = "2b4t", .gguf_arch = "bitnet-b1.58",
     .hp = {.n_vocab = 128256, .n_embd = 2560, .n_layer = 30, .n_ff = 6912, .n_head = 20, .n_head_kv = 5,
            .head_dim = 128, .n_ctx_train = 4096, .rope_theta = 500000.0f, .norm_eps = 1e-5f}},
    {.name = "large", .gguf_arch = "bitnet",
     .hp = {.n_vocab = 32002, .n_embd = 1536, .n_layer = 24, .n_ff = 4096, .n_head = 16, .n_head_kv = 16,
            .head_dim = 96, .n_ctx_train = 2048, .rope_theta = 10000.0f, .norm_eps = 1e-5f}},
    {.name = "3b", .gguf_arch = "bitnet",
     .hp = {.n_vocab = 32002, .n_embd = 3200, .n_layer = 26, .n_ff = 8640, .n_head = 32, .n_head_kv = 32,
            .head_dim = 100, .n_ctx_train = 2048, .rope_theta = 10000.0f, .norm_eps = 1e-5f}},
    {.name = "8b", .gguf_arch = "llama",
     .hp = {.n_vocab = 128256, .n_embd = 4096, .n_layer = 32, .n_ff = 14336, .n_head = 32, .n_head_kv = 8,
            .head_dim = 128, .n_ctx_train = 8192, .rope_theta = 500000.0f, .norm_eps = 1e-5f}},
    // For tests: every dimension a multiple of 256 so that TQ1_0/TQ2_0 rows are whole blocks.
    {.name = "tiny", .gguf_arch = "bitnet-b1.58",
     .hp = {.n_vocab = 300, .n_embd = 256, .n_layer = 2, .n_ff = 512, .n_head = 4, .n_head_kv = 2,
            .head_dim = 64, .n_ctx_train = 128, .rope_theta = 10000.0f, .norm_eps = 1e-5f}},
};

// splitmix64: a fixed generator so synthetic models are identical everywhere.
struct Rng {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    float uniform() { return static_cast<float>(next() >> 40) * 0x1p-24f; }   // [0, 1)
};

// Ternary values times m: P(0) = 1/2, P(+1) = P(-1) = 1/4. m is an fp16 value, so TQ blocks
// (fp16 d) store it exactly.
std::vector<float> random_ternary(size_t n, size_t cols, Rng& rng) {
    const float m = fp16_to_fp32(fp32_to_fp16((0.5f + rng.uniform()) / std::sqrt(static_cast<float>(cols))));
    std::vector<float> w(n);
    for (size_t i = 0; i < n; i += 32) {
        uint64_t bits = rng.next();
        for (size_t j = i; j < std::min(n, i + 32); ++j, bits >>= 2) {
            const uint64_t code = bits & 3;
            w[j] = code == 1 ? m : code == 2 ? -m : 0.0f;
        }
    }
    return w;
}

Result<std::vector<std::byte>> encode_ternary(GgmlType type, const std::vector<float>& w, size_t cols) {
    if (type == GgmlType::kI2_S) {
        if (w.size() % quant::kI2sGroupElems != 0)
            return Error(str_cat("I2_S needs a multiple of ", quant::kI2sGroupElems, " weights, got ", w.size()));
        std::vector<std::byte> out(quant::i2_s_tensor_bytes(w.size()));
        quant::quantize_i2_s(w, out);
        return out;
    }
    if (type != GgmlType::kTQ2_0 && type != GgmlType::kTQ1_0)
        return Error(str_cat("ternary type ", format::ggml_type_name(static_cast<uint32_t>(type)),
                             " cannot be written (use i2_s, tq2_0 or tq1_0)"));
    if (cols % quant::kTq2BlockElems != 0)
        return Error(str_cat(format::ggml_type_name(static_cast<uint32_t>(type)), " needs rows of a multiple of 256, got ",
                             cols));
    const size_t block_bytes = type == GgmlType::kTQ2_0 ? quant::kTq2BlockBytes : quant::kTq1BlockBytes;
    std::vector<std::byte> out(w.size() / 256 * block_bytes);
    if (type == GgmlType::kTQ2_0)
        quant::quantize_row_tq2_0(w.data(), out.data(), w.size());
    else
        quant::quantize_row_tq1_0(w.data(), out.data(), w.size());
    return out;
}

Result<std::vector<std::byte>> encode_float(GgmlType type, const std::vector<float>& x) {
    switch (type) {
        case GgmlType::kF32: {
            std::vector<std::byte> out(x.size() * 4);
            std::memcpy(out.data(), x.data(), out.size());
            return out;
        }
        case GgmlType::kF16:
        case GgmlType::kBF16: {
            std::vector<std::byte> out(x.size() * 2);
            for (size_t i = 0; i < x.size(); ++i) {
                const uint16_t bits = type == GgmlType::kF16 ? fp32_to_fp16(x[i]) : fp32_to_bf16(x[i]);
                std::memcpy(out.data() + 2 * i, &bits, 2);
            }
            return out;
        }
        case GgmlType::kQ8_0: {
            std::vector<std::byte> out(x.size() / 32 * 34);
            quant::quantize_row_q8_0(x.data(), out.data(), x.size());
            return out;
        }
        default:
            return Error(str_cat("embedding type ", format::ggml_type_name(static_cast<uint32_t>(type)),
                                 " cannot be written (use f32, f16, bf16 or q8_0)"));
    }
}

uint32_t file_type_id(GgmlType ternary) {
    switch (ternary) {
        case GgmlType::kI2_S: return 40;    // bitnet.cpp MOSTLY_I2_S
        case GgmlType::kTQ1_0: return 36;   // llama.cpp MOSTLY_TQ1_0
        default: return 37;                 // MOSTLY_TQ2_0
    }
}

void add_tokenizer_metadata(format::GgufWriter& w, size_t n_vocab) {
    // A SentencePiece-style vocabulary (control tokens, 256 byte tokens, placeholders) so that
    // llama.cpp-family loaders accept the file; the text it produces is meaningless.
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    for (size_t i = 0; i < n_vocab; ++i) {
        if (i < 3) {
            tokens.push_back(i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
            types.push_back(i == 0 ? 2 : 3);
        } else if (i < 3 + 256) {
            char piece[8];
            std::snprintf(piece, sizeof piece, "<0x%02X>", static_cast<unsigned>(i - 3));
            tokens.push_back(piece);
            types.push_back(6);
        } else {
            tokens.push_back(str_cat("\xe2\x96\x81t", i));
            types.push_back(1);
        }
        scores.push_back(-static_cast<float>(i));
    }
    (void)w.add_metadata("tokenizer.ggml.model", GgufValue::string("llama"));
    (void)w.add_metadata("tokenizer.ggml.tokens", GgufValue::string_array(std::move(tokens)));
    (void)w.add_metadata("tokenizer.ggml.scores",
                         GgufValue::array<float>(format::GgufType::kFloat32, std::span<const float>(scores)));
    (void)w.add_metadata("tokenizer.ggml.token_type",
                         GgufValue::array<int32_t>(format::GgufType::kInt32, std::span<const int32_t>(types)));
    (void)w.add_metadata("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
    (void)w.add_metadata("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
}

void add_hparams_metadata(format::GgufWriter& w, const SyntheticShape& shape, GgmlType ternary) {
    const std::string a = str_cat(shape.gguf_arch, ".");
    const Hparams& hp = shape.hp;
    (void)w.add_metadata("general.architecture", GgufValue::string(std::string(shape.gguf_arch)));
    (void)w.add_metadata("general.name", GgufValue::string(str_cat("tern synthetic ", shape.name)));
    (void)w.add_metadata(a + "vocab_size", GgufValue::u32(static_cast<uint32_t>(hp.n_vocab)));
    (void)w.add_metadata(a + "context_length", GgufValue::u32(static_cast<uint32_t>(hp.n_ctx_train)));
    (void)w.add_metadata(a + "embedding_length", GgufValue::u32(static_cast<uint32_t>(hp.n_embd)));
    (void)w.add_metadata(a + "block_count", GgufValue::u32(static_cast<uint32_t>(hp.n_layer)));
    (void)w.add_metadata(a + "feed_forward_length", GgufValue::u32(static_cast<uint32_t>(hp.n_ff)));
    (void)w.add_metadata(a + "rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(hp.head_dim)));
    (void)w.add_metadata(a + "attention.head_count", GgufValue::u32(static_cast<uint32_t>(hp.n_head)));
    (void)w.add_metadata(a + "attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(hp.n_head_kv)));
    if (hp.head_dim * hp.n_head != hp.n_embd)
        (void)w.add_metadata(a + "attention.key_length", GgufValue::u32(static_cast<uint32_t>(hp.head_dim)));
    (void)w.add_metadata(a + "attention.layer_norm_rms_epsilon", GgufValue::f32(hp.norm_eps));
    (void)w.add_metadata(a + "rope.freq_base", GgufValue::f32(hp.rope_theta));
    (void)w.add_metadata("general.file_type", GgufValue::u32(file_type_id(ternary)));
    (void)w.add_metadata("general.quantization_version", GgufValue::u32(2));
}

}  // namespace

std::span<const SyntheticShape> synthetic_shapes() { return kShapes; }

const SyntheticShape* find_synthetic_shape(std::string_view name) {
    for (const SyntheticShape& s : kShapes)
        if (s.name == name) return &s;
    return nullptr;
}

std::string synthetic_shape_names() {
    std::string names;
    for (const SyntheticShape& s : kShapes) names += str_cat(names.empty() ? "" : ", ", s.name);
    return names;
}

Result<format::GgufWriter> synthetic_gguf(const SyntheticShape& shape, const SyntheticOptions& options) {
    const Architecture* arch = find_gguf_architecture(shape.gguf_arch);
    TERN_CHECK(arch != nullptr);
    format::GgufWriter w;
    add_hparams_metadata(w, shape, options.ternary_type);
    add_tokenizer_metadata(w, shape.hp.n_vocab);
    Rng rng{options.seed};
    auto add = [&](const std::string& name, GgmlType type, std::vector<uint64_t> dims,
                   Result<std::vector<std::byte>> data) -> Status {
        if (!data.ok()) return data.error().within(str_cat("tensor '", name, "'"));
        return w.add_tensor(name, type, dims, std::move(data).value());
    };
    for (const TensorSpec& spec : arch->tensors) {
        if (spec.role == TensorRole::kOutput && !options.untied_head) continue;
        for (size_t layer = 0; layer < (spec.per_layer ? shape.hp.n_layer : 1); ++layer) {
            const std::string name = tensor_name(spec.gguf_name, layer);
            const size_t ne0 = shape.hp.dim(spec.ne0), ne1 = shape.hp.dim(spec.ne1);
            if (spec.kind == TensorKind::kNormVector) {
                std::vector<float> v(ne0);
                for (float& x : v) x = 0.75f + 0.5f * rng.uniform();
                TERN_TRY(add(name, GgmlType::kF32, {ne0}, encode_float(GgmlType::kF32, v)));
            } else if (spec.kind == TensorKind::kFloatMatrix) {
                std::vector<float> v(ne0 * ne1);
                for (float& x : v) x = rng.uniform() - 0.5f;
                TERN_TRY(add(name, options.embd_type, {ne0, ne1}, encode_float(options.embd_type, v)));
            } else {
                TERN_TRY(add(name, options.ternary_type, {ne0, ne1},
                             encode_ternary(options.ternary_type, random_ternary(ne0 * ne1, ne0, rng), ne0)));
            }
        }
    }
    return w;
}

}  // namespace tern::model
