#include "model/synthetic_model.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "core/check.h"
#include "core/float16.h"
#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "model/architecture.h"
#include "model/gguf_metadata.h"
#include "model/gguf_tensors.h"
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
    // iFairy / Fairy+-i 700M (complex-and-recurrent.md §2.1): sizes in complex values.
    {.name = "ifairy-700m", .gguf_arch = "ifairy",
     .hp = {.n_vocab = 32000, .n_embd = 1536, .n_layer = 24, .n_ff = 4096, .n_head = 16, .n_head_kv = 16,
            .head_dim = 96, .n_ctx_train = 2048, .rope_theta = 10000.0f, .norm_eps = 1e-5f}},
    {.name = "ifairy-tiny", .gguf_arch = "ifairy",
     .hp = {.n_vocab = 300, .n_embd = 128, .n_layer = 2, .n_ff = 256, .n_head = 4, .n_head_kv = 4,
            .head_dim = 32, .n_ctx_train = 128, .rope_theta = 10000.0f, .norm_eps = 1e-5f}},
    // Fairy2i-W2 on LLaMA-2-7B (complex-and-recurrent.md §1.1): real sizes; every projection
    // and the head become 2 stages of U and W codes.
    {.name = "fairy2i-7b", .gguf_arch = "fairy2i",
     .hp = {.n_vocab = 32000, .n_embd = 4096, .n_layer = 32, .n_ff = 11008, .n_head = 32, .n_head_kv = 32,
            .head_dim = 128, .n_ctx_train = 4096, .rope_theta = 10000.0f, .norm_eps = 1e-5f}},
    {.name = "fairy2i-tiny", .gguf_arch = "fairy2i",
     .hp = {.n_vocab = 300, .n_embd = 128, .n_layer = 2, .n_ff = 256, .n_head = 4, .n_head_kv = 2,
            .head_dim = 32, .n_ctx_train = 128, .rope_theta = 10000.0f, .norm_eps = 1e-5f}},
    // The MatMul-free LM (HGRN-Bit, complex-and-recurrent.md §3.1): one "head" of n_embd, no
    // attention; n_ff is the FFN width (its gate and up are one 2 * n_ff matrix).
    {.name = "mmfree-370m", .gguf_arch = "hgrn-bit",
     .hp = {.n_vocab = 32000, .n_embd = 1024, .n_layer = 24, .n_ff = 2816, .n_head = 1, .n_head_kv = 1,
            .head_dim = 1024, .n_ctx_train = 2048, .rope_theta = 10000.0f, .norm_eps = 1e-6f}},
    {.name = "mmfree-1.3b", .gguf_arch = "hgrn-bit",
     .hp = {.n_vocab = 32000, .n_embd = 2048, .n_layer = 24, .n_ff = 5632, .n_head = 1, .n_head_kv = 1,
            .head_dim = 2048, .n_ctx_train = 2048, .rope_theta = 10000.0f, .norm_eps = 1e-6f}},
    {.name = "mmfree-2.7b", .gguf_arch = "hgrn-bit",
     .hp = {.n_vocab = 32000, .n_embd = 2560, .n_layer = 32, .n_ff = 6912, .n_head = 1, .n_head_kv = 1,
            .head_dim = 2560, .n_ctx_train = 2048, .rope_theta = 10000.0f, .norm_eps = 1e-6f}},
    {.name = "mmfree-tiny", .gguf_arch = "hgrn-bit",
     .hp = {.n_vocab = 300, .n_embd = 256, .n_layer = 3, .n_ff = 768, .n_head = 1, .n_head_kv = 1,
            .head_dim = 256, .n_ctx_train = 128, .rope_theta = 10000.0f, .norm_eps = 1e-6f}},
    // For tests: every dimension a multiple of 256 so that TQ1_0/TQ2_0 rows are whole blocks.
    {.name = "tiny", .gguf_arch = "bitnet-b1.58",
     .hp = {.n_vocab = 300, .n_embd = 256, .n_layer = 2, .n_ff = 512, .n_head = 4, .n_head_kv = 2,
            .head_dim = 64, .n_ctx_train = 128, .rope_theta = 10000.0f, .norm_eps = 1e-5f}},
};

// splitmix64: a fixed generator so synthetic models are identical everywhere. The k-th draw
// depends only on the start state and k, so any part of a tensor can be generated on its own,
// on any thread, and equals what one sequential pass would give.
struct Rng {
    static constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ull;
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += kGamma);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    float uniform() { return static_cast<float>(next() >> 40) * 0x1p-24f; }   // [0, 1)
    Rng after(uint64_t draws) const { return {state + draws * kGamma}; }
};

// Weights per piece of work, so that scratch buffers stay small whatever the thread split.
constexpr size_t kChunkElems = 1 << 16;

// Calls fn(begin, end) over [0, n_units) on the pool, in pieces of at most `per_chunk` units.
void for_chunks(ThreadPool& pool, size_t n_units, size_t per_chunk, const std::function<void(size_t, size_t)>& fn) {
    pool.parallel_for(n_units, 1, [&](size_t begin, size_t end) {
        for (size_t b = begin; b < end; b += per_chunk) fn(b, std::min(end, b + per_chunk));
    });
}

// Ternary weights: the first draw gives the magnitude m (an fp16 value, so TQ blocks store it
// exactly); then each draw gives 32 weights, two bits each: 1 -> +m, 2 -> -m, 0 and 3 -> 0
// (P(0) = 1/2, P(+1) = P(-1) = 1/4).
struct TernaryDraws {
    float m;
    Rng codes;   // draw d gives weights 32d .. 32d + 31
    static constexpr size_t kPerDraw = 32;
};

TernaryDraws ternary_draws(Rng& rng, size_t n, size_t cols) {
    const float m = fp16_to_fp32(fp32_to_fp16((0.5f + rng.uniform()) / std::sqrt(static_cast<float>(cols))));
    const TernaryDraws draws{.m = m, .codes = rng};
    rng = rng.after((n + TernaryDraws::kPerDraw - 1) / TernaryDraws::kPerDraw);
    return draws;
}

// Weights [32 * first_draw, 32 * first_draw + n) as floats.
void ternary_floats(const TernaryDraws& draws, size_t first_draw, size_t n, float* w) {
    Rng rng = draws.codes.after(first_draw);
    for (size_t i = 0; i < n; i += TernaryDraws::kPerDraw) {
        uint64_t bits = rng.next();
        for (size_t j = i; j < std::min(n, i + TernaryDraws::kPerDraw); ++j, bits >>= 2) {
            const uint64_t code = bits & 3;
            w[j] = code == 1 ? draws.m : code == 2 ? -draws.m : 0.0f;
        }
    }
}

// The four 2-bit fields of a byte, one in the low bits of each byte of the result.
constexpr std::array<uint32_t, 256> kSpreadFields = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t b = 0; b < 256; ++b)
        for (uint32_t f = 0; f < 4; ++f) table[b] |= ((b >> (2 * f)) & 3u) << (8 * f);
    return table;
}();

// I2_S straight from the draws, the bytes quantize_i2_s gives for ternary_floats' values: a
// 128-weight group is 32 bytes, weight 32q + i in bits 6 - 2q of byte i; codes 0 / 1 / 2 are
// -1 / 0 / +1; the scale is max |w| (m, or 0 if every weight is 0). Codes are mapped 32 at a
// time with bit operations and placed four per table lookup.
void fill_i2_s(ThreadPool& pool, const TernaryDraws& draws, size_t n, std::span<std::byte> dest) {
    std::atomic<bool> any_nonzero{false};
    constexpr size_t kDrawsPerGroup = quant::kI2sGroupElems / TernaryDraws::kPerDraw;
    constexpr uint64_t kLowBits = 0x5555555555555555ull;
    for_chunks(pool, n / quant::kI2sGroupElems, kChunkElems / quant::kI2sGroupElems, [&](size_t begin, size_t end) {
        Rng rng = draws.codes.after(begin * kDrawsPerGroup);
        uint64_t seen = 0;
        for (size_t group = begin; group < end; ++group) {
            uint32_t words[8] = {};   // the group's 32 bytes
            for (size_t q = 0; q < kDrawsPerGroup; ++q) {
                const uint64_t bits = rng.next();
                const uint64_t low = bits & kLowBits, high = (bits >> 1) & kLowBits;
                // Draw code 1 (+m) -> 2, 2 (-m) -> 0, 0 and 3 (zero) -> 1.
                const uint64_t i2 = ((low & ~high) << 1) | (~(low ^ high) & kLowBits);
                seen |= low ^ high;
                for (size_t k = 0; k < 8; ++k) words[k] |= kSpreadFields[(i2 >> (8 * k)) & 0xff] << (6 - 2 * q);
            }
            static_assert(std::endian::native == std::endian::little, "byte k of words[w] is byte 4w + k");
            std::memcpy(dest.data() + group * (quant::kI2sGroupElems / 4), words, sizeof words);
        }
        if (seen != 0) any_nonzero.store(true, std::memory_order_relaxed);
    });
    const float scale = any_nonzero.load() ? draws.m : 0.0f;
    std::memcpy(dest.data() + n / 4, &scale, sizeof scale);
}

void fill_tq(ThreadPool& pool, GgmlType type, const TernaryDraws& draws, size_t n, std::span<std::byte> dest) {
    constexpr size_t kBlock = quant::kTq2BlockElems, kDrawsPerBlock = kBlock / TernaryDraws::kPerDraw;
    const size_t block_bytes = type == GgmlType::kTQ2_0 ? quant::kTq2BlockBytes : quant::kTq1BlockBytes;
    for_chunks(pool, n / kBlock, kChunkElems / kBlock, [&](size_t begin, size_t end) {
        std::vector<float> w((end - begin) * kBlock);
        ternary_floats(draws, begin * kDrawsPerBlock, w.size(), w.data());
        std::byte* out = dest.data() + begin * block_bytes;
        if (type == GgmlType::kTQ2_0) quant::quantize_row_tq2_0(w.data(), out, w.size());
        else quant::quantize_row_tq1_0(w.data(), out, w.size());
    });
}

// Bytes of n ternary weights in `type`; errors for a type tern cannot write or a bad length.
Result<size_t> ternary_tensor_bytes(GgmlType type, size_t n, size_t cols) {
    if (type == GgmlType::kI2_S) {
        if (n % quant::kI2sGroupElems != 0)
            return Error(str_cat("I2_S needs a multiple of ", quant::kI2sGroupElems, " weights, got ", n));
        return quant::i2_s_tensor_bytes(n);
    }
    if (type != GgmlType::kTQ2_0 && type != GgmlType::kTQ1_0)
        return Error(str_cat("ternary type ", format::ggml_type_name(static_cast<uint32_t>(type)),
                             " cannot be written (use i2_s, tq2_0 or tq1_0)"));
    if (cols % quant::kTq2BlockElems != 0)
        return Error(str_cat(format::ggml_type_name(static_cast<uint32_t>(type)), " needs rows of a multiple of 256, got ",
                             cols));
    return n / quant::kTq2BlockElems * (type == GgmlType::kTQ2_0 ? quant::kTq2BlockBytes : quant::kTq1BlockBytes);
}

// Bytes of one row of ne0 floats in `type`; errors for a type tern cannot write.
Result<size_t> float_row_bytes(GgmlType type, size_t ne0) {
    switch (type) {
        case GgmlType::kF32: return ne0 * 4;
        case GgmlType::kF16:
        case GgmlType::kBF16: return ne0 * 2;
        case GgmlType::kQ8_0:
            if (ne0 % 32 != 0) return Error(str_cat("Q8_0 needs rows of a multiple of 32, got ", ne0));
            return ne0 / 32 * 34;
        case GgmlType::kQ6_K:
            if (ne0 % 256 != 0) return Error(str_cat("Q6_K needs rows of a multiple of 256, got ", ne0));
            return ne0 / 256 * 210;
        default:
            return Error(str_cat("embedding type ", format::ggml_type_name(static_cast<uint32_t>(type)),
                                 " cannot be written (use f32, f16, bf16, q8_0 or q6_k)"));
    }
}

// x[0, n) in `type` (one float_row_bytes per ne0 floats).
void encode_floats(GgmlType type, const float* x, size_t n, std::byte* out) {
    switch (type) {
        case GgmlType::kF32: std::memcpy(out, x, n * 4); break;
        case GgmlType::kF16:
        case GgmlType::kBF16:
            for (size_t i = 0; i < n; ++i) {
                const uint16_t bits = type == GgmlType::kF16 ? fp32_to_fp16(x[i]) : fp32_to_bf16(x[i]);
                std::memcpy(out + 2 * i, &bits, 2);
            }
            break;
        case GgmlType::kQ8_0: quant::quantize_row_q8_0(x, out, n); break;
        case GgmlType::kQ6_K: quant::quantize_row_q6_k(x, out, n); break;
        default: TERN_CHECK(false && "float_row_bytes accepted the type");
    }
}

using Pool = std::shared_ptr<ThreadPool>;

// A norm's weights (ne1 == 1), or a small table such as HGRN-Bit's lower bounds.
Status add_norm_vector(format::GgufWriter& w, const std::string& name, size_t ne0, size_t ne1, Rng& rng) {
    std::vector<float> v(ne0 * ne1);
    for (float& x : v) x = 0.75f + 0.5f * rng.uniform();
    std::vector<uint64_t> dims{ne0};
    if (ne1 != 1) dims.push_back(ne1);
    return add_float_tensor(w, name, v, dims);
}

// Uniform values in [-0.5, 0.5), generated when the writer writes.
Status add_float_matrix(format::GgufWriter& w, const Pool& pool, const std::string& name, GgmlType type, size_t ne0,
                        size_t ne1, Rng& rng) {
    const Result<size_t> row_bytes = float_row_bytes(type, ne0);
    if (!row_bytes.ok()) return row_bytes.error().within(str_cat("tensor '", name, "'"));
    const Rng start = rng;
    rng = rng.after(ne0 * ne1);
    return w.add_tensor(name, type, std::vector<uint64_t>{ne0, ne1}, row_bytes.value() * ne1,
                        [pool, start, type, ne0, ne1, row_bytes = row_bytes.value()](std::span<std::byte> dest) {
        for_chunks(*pool, ne1, std::max<size_t>(1, kChunkElems / ne0), [&](size_t begin, size_t end) {
            std::vector<float> x((end - begin) * ne0);
            Rng chunk_rng = start.after(begin * ne0);
            for (float& v : x) v = chunk_rng.uniform() - 0.5f;
            encode_floats(type, x.data(), x.size(), dest.data() + begin * row_bytes);
        });
    });
}

// Random ternary weights (TernaryDraws), generated when the writer writes.
Status add_ternary_matrix(format::GgufWriter& w, const Pool& pool, const std::string& name, GgmlType type, size_t ne0,
                          size_t ne1, Rng& rng) {
    const size_t n = ne0 * ne1;
    const Result<size_t> bytes = ternary_tensor_bytes(type, n, ne0);
    if (!bytes.ok()) return bytes.error().within(str_cat("tensor '", name, "'"));
    const TernaryDraws draws = ternary_draws(rng, n, ne0);
    TERN_CHECK(draws.m >= 1e-6f);   // never read as zero by quantize_i2_s's rule
    return w.add_tensor(name, type, std::vector<uint64_t>{ne0, ne1}, bytes.value(),
                        [pool, draws, type, n](std::span<std::byte> dest) {
        if (type == GgmlType::kI2_S) fill_i2_s(*pool, draws, n, dest);
        else fill_tq(*pool, type, draws, n, dest);
    });
}

// Random {+1, +i, -1, -i} codes (TERN_C2: every byte is four uniform codes) and the tensor's
// two scales, of the size absmean would give weights of variance 1 / cols.
Status add_complex_matrix(format::GgufWriter& w, const Pool& pool, const std::string& name, size_t ne0, size_t ne1,
                          Rng& rng) {
    if (ne0 % 4 != 0) return Error(str_cat("tensor '", name, "': TERN_C2 needs rows of a multiple of 4, got ", ne0));
    const float scale_re = (0.5f + rng.uniform()) / std::sqrt(static_cast<float>(ne0));
    const float scale_im = (0.5f + rng.uniform()) / std::sqrt(static_cast<float>(ne0));
    const size_t n_bytes = ne0 * ne1 / 4;
    const Rng start = rng;
    rng = rng.after((n_bytes + 7) / 8);
    TERN_TRY(w.add_tensor(name, GgmlType::kTernC2, std::vector<uint64_t>{ne0, ne1}, n_bytes,
                          [pool, start, n_bytes](std::span<std::byte> dest) {
        for_chunks(*pool, (n_bytes + 7) / 8, kChunkElems, [&](size_t begin, size_t end) {
            Rng chunk_rng = start.after(begin);
            for (size_t d = begin; d < end; ++d) {
                const uint64_t bits = chunk_rng.next();
                std::memcpy(dest.data() + 8 * d, &bits, std::min<size_t>(8, n_bytes - 8 * d));
            }
        });
    }));
    std::vector<std::byte> scales(2 * sizeof(float));
    std::memcpy(scales.data(), &scale_re, sizeof(float));
    std::memcpy(scales.data() + sizeof(float), &scale_im, sizeof(float));
    return w.add_tensor(scale_tensor_name(name), GgmlType::kF32, std::vector<uint64_t>{2}, std::move(scales));
}

// Fairy2i W2: four random code matrices (U1, W1, U2, W2) of the complex halves, stacked by
// rows, and their scales (the second stage's a quarter of the first's, as a residual's are).
Status add_widely_linear_matrix(format::GgufWriter& w, const Pool& pool, const std::string& name, size_t ne0,
                                size_t ne1, Rng& rng) {
    constexpr size_t kMatrices = 4;
    const size_t m = ne0 / 2, n = ne1 / 2;
    if (ne0 % 2 != 0 || ne1 % 2 != 0 || m % 4 != 0)
        return Error(str_cat("tensor '", name, "': a widely-linear ", ne1, "x", ne0, " matrix needs even sides and m % 4 == 0"));
    std::vector<float> scales(2 * kMatrices);
    for (size_t j = 0; j < scales.size(); ++j)
        scales[j] = (0.5f + rng.uniform()) / std::sqrt(static_cast<float>(ne0)) * (j >= 4 ? 0.25f : 1.0f);
    const size_t n_bytes = kMatrices * n * m / 4;
    const Rng start = rng;
    rng = rng.after((n_bytes + 7) / 8);
    TERN_TRY(w.add_tensor(name, GgmlType::kTernC2, std::vector<uint64_t>{m, n * kMatrices}, n_bytes,
                          [pool, start, n_bytes](std::span<std::byte> dest) {
        for_chunks(*pool, (n_bytes + 7) / 8, kChunkElems, [&](size_t begin, size_t end) {
            Rng chunk_rng = start.after(begin);
            for (size_t d = begin; d < end; ++d) {
                const uint64_t bits = chunk_rng.next();
                std::memcpy(dest.data() + 8 * d, &bits, std::min<size_t>(8, n_bytes - 8 * d));
            }
        });
    }));
    std::vector<std::byte> scale_bytes(scales.size() * sizeof(float));
    std::memcpy(scale_bytes.data(), scales.data(), scale_bytes.size());
    return w.add_tensor(scale_tensor_name(name), GgmlType::kF32, std::vector<uint64_t>{scales.size()}, std::move(scale_bytes));
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

void add_hparams_metadata(format::GgufWriter& w, const SyntheticShape& shape, std::string_view gguf_arch,
                          GgmlType ternary) {
    write_hparams_metadata(w, gguf_arch, str_cat("tern synthetic ", shape.name), shape.hp);
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

std::string_view synthetic_gguf_architecture(const SyntheticShape& shape, const SyntheticOptions& options) {
    return options.gguf_arch.empty() ? shape.gguf_arch : options.gguf_arch;
}

Result<format::GgufWriter> synthetic_gguf(const SyntheticShape& shape, const SyntheticOptions& options) {
    const std::string_view gguf_arch = synthetic_gguf_architecture(shape, options);
    const Architecture* arch = find_gguf_architecture(gguf_arch);
    if (arch == nullptr) return Error(str_cat("architecture '", gguf_arch, "' is not one tern knows (", gguf_architecture_names(), ")"));
    format::GgufWriter w;
    add_hparams_metadata(w, shape, gguf_arch, options.ternary_type);
    add_tokenizer_metadata(w, shape.hp.n_vocab);
    // The big tensors are generated while the GGUF is written, on these threads.
    const auto pool = std::make_shared<ThreadPool>(std::max(options.threads, 1));
    Rng rng{options.seed};
    for (const TensorSpec& spec : arch->tensors) {
        if (spec.role == TensorRole::kOutput && spec.optional && !options.untied_head) continue;
        for (size_t layer = 0; layer < (spec.per_layer ? shape.hp.n_layer : 1); ++layer) {
            const std::string name = tensor_name(spec.gguf_name, layer);
            // Complex norms and embeddings hold [re | im] along ne0.
            const size_t parts = spec.hf_name_imag.empty() || spec.kind == TensorKind::kComplex ? 1 : 2;
            const size_t ne0 = parts * shape.hp.dim(spec.ne0), ne1 = shape.hp.dim(spec.ne1);
            if (spec.kind == TensorKind::kComplex) {
                TERN_TRY(add_complex_matrix(w, pool, name, ne0, ne1, rng));
            } else if (spec.kind == TensorKind::kWidelyLinear) {
                TERN_TRY(add_widely_linear_matrix(w, pool, name, ne0, ne1, rng));
            } else if (spec.kind == TensorKind::kNormVector) {
                TERN_TRY(add_norm_vector(w, name, ne0, ne1, rng));
            } else if (spec.kind == TensorKind::kFloatMatrix) {
                TERN_TRY(add_float_matrix(w, pool, name, options.embd_type, ne0, ne1, rng));
            } else {
                TERN_TRY(add_ternary_matrix(w, pool, name, options.ternary_type, ne0, ne1, rng));
            }
        }
    }
    return w;
}

}  // namespace tern::model
