#include "testing/test_files.h"

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

#include "core/float16.h"
#include "quant/block_formats.h"
#include "quant/ternary_formats.h"

namespace tern::testing {

using format::GgmlType;

std::vector<float> random_floats(size_t n, uint64_t seed) {
    std::vector<float> out(n);
    uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
    for (float& x : out) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        x = static_cast<float>(static_cast<int64_t>(state >> 40) - (1 << 23)) / static_cast<float>(1 << 23);
    }
    return out;
}

namespace {

std::vector<std::byte> random_bytes(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::byte> out(n);
    for (std::byte& b : out) b = static_cast<std::byte>(rng() & 0xff);
    return out;
}

template <class Convert>
std::vector<std::byte> encode_16bit(const std::vector<float>& x, Convert convert) {
    std::vector<std::byte> out(2 * x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        const uint16_t bits = convert(x[i]);
        std::memcpy(out.data() + 2 * i, &bits, 2);
    }
    return out;
}

}  // namespace

std::vector<std::byte> sample_tensor_data(GgmlType type, size_t n, uint64_t seed) {
    const std::vector<float> x = random_floats(n, seed);
    std::vector<std::byte> out;
    switch (type) {
        case GgmlType::kF32:
            out.resize(4 * n);
            std::memcpy(out.data(), x.data(), out.size());
            return out;
        case GgmlType::kF16: return encode_16bit(x, fp32_to_fp16);
        case GgmlType::kBF16: return encode_16bit(x, fp32_to_bf16);
        case GgmlType::kQ8_0:
            out.resize(n / 32 * 34);
            quant::quantize_row_q8_0(x.data(), out.data(), n);
            return out;
        case GgmlType::kQ4_0:
            out.resize(n / 32 * 18);
            quant::quantize_row_q4_0(x.data(), out.data(), n);
            return out;
        case GgmlType::kTQ1_0:
            out.resize(n / 256 * 54);
            quant::quantize_row_tq1_0(x.data(), out.data(), n);
            return out;
        case GgmlType::kTQ2_0:
            out.resize(n / 256 * 66);
            quant::quantize_row_tq2_0(x.data(), out.data(), n);
            return out;
        case GgmlType::kI2_S:
            out.resize(quant::i2_s_tensor_bytes(n));
            quant::quantize_i2_s(x, out);
            return out;
        case GgmlType::kQ4_K:
            out = random_bytes(n / 256 * 144, seed);
            for (size_t b = 0; b < n / 256; ++b) {
                store_fp16(&out[b * 144], 0.01f);
                store_fp16(&out[b * 144 + 2], 0.005f);
            }
            return out;
        case GgmlType::kQ6_K:
            out = random_bytes(n / 256 * 210, seed);
            for (size_t b = 0; b < n / 256; ++b) store_fp16(&out[b * 210 + 208], 0.002f);
            return out;
        default: throw std::invalid_argument("sample_tensor_data: type without a sample");
    }
}

std::vector<std::byte> make_tiny_gguf() {
    format::GgufWriter writer;
    using format::GgufType;
    using format::GgufValue;
    const float scores[3] = {0.0f, -1.5f, 2.25f};
    const int32_t types[3] = {2, 1, 1};
    const auto ok = [](Status s) {
        if (!s.ok()) throw std::runtime_error(s.error().message());
    };
    ok(writer.add_metadata("general.architecture", GgufValue::string("llama")));
    ok(writer.add_metadata("general.name", GgufValue::string("tiny")));
    ok(writer.add_metadata("llama.block_count", GgufValue::u32(1)));
    ok(writer.add_metadata("llama.rope.freq_base", GgufValue::f32(10000.0f)));
    ok(writer.add_metadata("tokenizer.ggml.add_bos_token", GgufValue::boolean(true)));
    ok(writer.add_metadata("tokenizer.ggml.tokens", GgufValue::string_array({"<unk>", "a", "b"})));
    ok(writer.add_metadata("tokenizer.ggml.scores", GgufValue::array<float>(GgufType::kFloat32, scores)));
    ok(writer.add_metadata("tokenizer.ggml.token_type", GgufValue::array<int32_t>(GgufType::kInt32, types)));
    const uint64_t norm_dims[] = {8};
    const uint64_t embd_dims[] = {8, 3};
    const uint64_t proj_dims[] = {256, 2};
    ok(writer.add_tensor("output_norm.weight", GgmlType::kF32, norm_dims, sample_tensor_data(GgmlType::kF32, 8, 1)));
    ok(writer.add_tensor("token_embd.weight", GgmlType::kF16, embd_dims, sample_tensor_data(GgmlType::kF16, 24, 2)));
    ok(writer.add_tensor("blk.0.attn_q.weight", GgmlType::kTQ2_0, proj_dims,
                         sample_tensor_data(GgmlType::kTQ2_0, 512, 3)));
    return writer.write_to_buffer();
}

format::GgufWriter make_all_types_writer() {
    format::GgufWriter writer;
    const auto ok = [](Status s) {
        if (!s.ok()) throw std::runtime_error(s.error().message());
    };
    ok(writer.add_metadata("general.architecture", format::GgufValue::string("tern-sample")));
    const GgmlType types[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16,  GgmlType::kQ8_0,  GgmlType::kQ4_0,
                              GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kTQ1_0, GgmlType::kTQ2_0, GgmlType::kI2_S};
    const uint64_t dims[] = {256, 2};
    uint64_t seed = 10;
    for (const GgmlType type : types) {
        const std::string name = "sample." + std::string(format::ggml_type_traits(uint32_t(type))->name);
        ok(writer.add_tensor(name, type, dims, sample_tensor_data(type, 512, seed++)));
    }
    return writer;
}

std::vector<std::byte> make_safetensors(const std::string& header_json, const std::vector<std::byte>& data) {
    std::string header = header_json;
    while (header.size() % 8 != 0) header += ' ';
    std::vector<std::byte> out(8 + header.size());
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    std::memcpy(out.data() + 8, header.data(), header.size());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

std::vector<std::byte> make_tiny_safetensors() {
    std::vector<std::byte> data = random_bytes(24 + 8 + 4, 7);
    const std::vector<float> weights = random_floats(6, 5);
    std::memcpy(data.data(), weights.data(), 24);
    return make_safetensors(
        R"({"__metadata__":{"format":"pt"},)"
        R"("a.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
        R"("b.weight":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]},)"
        R"("c.weight":{"dtype":"U8","shape":[2,2],"data_offsets":[32,36]}})",
        data);
}

void write_file(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    write_file(path, std::vector<std::byte>(reinterpret_cast<const std::byte*>(text.data()),
                                            reinterpret_cast<const std::byte*>(text.data()) + text.size()));
}

std::vector<std::byte> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tern-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::optional<std::filesystem::path> shared_dir() {
    const std::filesystem::path dir = std::filesystem::path(TERN_SOURCE_DIR) / ".." / "shared";
    std::error_code ignored;
    if (!std::filesystem::is_directory(dir / "data", ignored)) return std::nullopt;
    return dir;
}

}  // namespace tern::testing
