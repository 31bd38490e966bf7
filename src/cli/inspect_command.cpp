// `tern inspect FILE|DIR`: everything a model file says about itself. GGUF files are told
// apart by their magic; other files are read as safetensors; directories as Hugging Face
// model folders.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "cli/tensor_table.h"
#include "core/str_cat.h"
#include "format/gguf_reader.h"
#include "format/hf_checkpoint.h"
#include "format/safetensors_reader.h"
#include "quant/ternary_formats.h"

namespace tern::cli {
namespace {

std::string shape_text(const uint64_t* dims, size_t n) {
    std::string out = "[";
    for (size_t i = 0; i < n; ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
    return out + "]";
}

// I2_S keeps one f32 scale per tensor right after the codes; showing it lets a user check
// a converted file against its source.
std::string gguf_type_label(const format::GgufContents& gguf, const format::GgufTensorInfo& t) {
    std::string label(t.traits.name);
    if (t.traits.type != format::GgmlType::kI2_S) return label;
    return label + str_cat(" (scale ", quant::i2_s_tensor_scale(gguf.tensor_data(t), t.n_elements), ")");
}

void print_gguf(const format::GgufFile& file, const InspectOptions& options) {
    const format::GgufContents& gguf = file.contents();
    const std::string arch = gguf.architecture();
    std::printf("%-14s %s\n", "file:", file.path().c_str());
    std::printf("%-14s GGUF v%u, %zu metadata keys, %zu tensors, alignment %llu, data section at %s\n", "format:",
                gguf.version, gguf.metadata.size(), gguf.tensors.size(),
                static_cast<unsigned long long>(gguf.alignment), hex(gguf.data_offset).c_str());
    std::printf("%-14s %s\n", "architecture:", arch.empty() ? "(general.architecture missing)" : quote(arch).c_str());
    size_t key_width = 3;
    for (const format::GgufKv& kv : gguf.metadata) key_width = std::max(key_width, std::min<size_t>(kv.key.size(), 50));
    std::printf("\nmetadata (%zu):\n", gguf.metadata.size());
    for (const format::GgufKv& kv : gguf.metadata) {
        std::printf("  %-*s  %-7s  %s\n", int(key_width), escaped(kv.key, 80).c_str(),
                    std::string(format::gguf_type_name(kv.value.type())).c_str(),
                    format::format_gguf_value(kv.value, options.array_elems).c_str());
    }
    std::vector<TensorRow> rows;
    for (const format::GgufTensorInfo& t : gguf.tensors) {
        rows.push_back({t.name, gguf_type_label(gguf, t), shape_text(t.ne.data(), t.n_dims), t.n_elements, t.n_bytes,
                        hex(gguf.data_offset + t.offset)});
    }
    print_tensor_table(rows, "file offset");
    print_totals(rows);
}

// transformers' BitNet packing stores 4 ternary weights per U8 byte, with a companion
// "<name>_scale"; count logical weights, not bytes, for those.
bool is_packed_ternary(const format::SafetensorsTensor& t, bool bitnet_quantized, bool has_scale) {
    return bitnet_quantized && t.dtype == format::SafetensorsDtype::kU8 && has_scale;
}

TensorRow safetensors_row(const format::SafetensorsTensor& t, bool packed, std::string where) {
    const std::string dtype(format::safetensors_dtype_name(t.dtype));
    return {t.name, packed ? dtype + " (ternary x4)" : dtype, shape_text(t.shape.data(), t.shape.size()),
            packed ? t.n_elements * 4 : t.n_elements, t.end - t.begin, std::move(where)};
}

void print_safetensors_metadata(const format::SafetensorsContents& contents) {
    if (contents.metadata.empty()) return;
    std::printf("\n__metadata__ (%zu):\n", contents.metadata.size());
    for (const auto& [key, value] : contents.metadata) std::printf("  %s  %s\n", quote(key).c_str(), quote(value).c_str());
}

void print_safetensors_file(const format::SafetensorsFile& file) {
    const format::SafetensorsContents& contents = file.contents();
    std::printf("%-14s %s\n", "file:", file.path().c_str());
    std::printf("%-14s safetensors, %zu tensors, header %llu bytes\n", "format:", contents.tensors.size(),
                static_cast<unsigned long long>(contents.data_offset - 8));
    print_safetensors_metadata(contents);
    std::vector<TensorRow> rows;
    for (const format::SafetensorsTensor& t : contents.tensors) {
        rows.push_back(safetensors_row(t, false, hex(contents.data_offset + t.begin)));
    }
    print_tensor_table(rows, "file offset");
    print_totals(rows);
}

void print_hf_checkpoint(const format::HfCheckpoint& checkpoint) {
    const format::HfConfig& config = checkpoint.config();
    const std::string arch = config.architectures.empty() ? std::string("(none)") : config.architectures.front();
    std::printf("%-14s %s\n", "folder:", checkpoint.dir().c_str());
    std::printf("%-14s Hugging Face checkpoint, %zu safetensors file(s), tokenizer.json %s\n", "format:",
                checkpoint.shards().size(), checkpoint.has_tokenizer_json() ? "present" : "absent");
    std::printf("%-14s %s (model_type %s)\n", "architecture:", quote(arch).c_str(), quote(config.model_type).c_str());
    if (config.quantization) {
        const auto& q = *config.quantization;
        std::printf("%-14s %s, linear_class %s, mode %s\n", "quantization:", quote(q.quant_method).c_str(),
                    q.linear_class.c_str(), q.quantization_mode.c_str());
    }
    std::printf("\nconfig.json (%zu):\n", config.all_fields.size());
    for (const auto& [key, value] : config.all_fields) std::printf("  %-40s %s\n", key.c_str(), value.c_str());
    for (const auto& shard : checkpoint.shards()) print_safetensors_metadata(shard->contents());
    const bool bitnet = config.quantization && config.quantization->quant_method == "bitnet";
    std::vector<TensorRow> rows;
    for (const auto& ref : checkpoint.tensors()) {
        const bool has_scale = checkpoint.find(ref.tensor->name + "_scale") != nullptr;
        rows.push_back(safetensors_row(*ref.tensor, is_packed_ternary(*ref.tensor, bitnet, has_scale),
                                       std::filesystem::path(ref.shard->path()).filename().string()));
    }
    print_tensor_table(rows, "shard");
    print_totals(rows);
}

bool starts_with_gguf_magic(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) return false;
    char magic[4] = {};
    const bool is_gguf = std::fread(magic, 1, 4, file) == 4 && std::memcmp(magic, "GGUF", 4) == 0;
    std::fclose(file);
    return is_gguf;
}

}  // namespace

int run_inspect(const InspectOptions& options) {
    std::error_code ignored;
    if (std::filesystem::is_directory(options.path, ignored)) {
        auto checkpoint = format::HfCheckpoint::open(options.path);
        if (!checkpoint.ok()) return report_failure(checkpoint.error().message());
        print_hf_checkpoint(checkpoint.value());
        return 0;
    }
    if (std::filesystem::path(options.path).extension() == ".gguf" || starts_with_gguf_magic(options.path)) {
        auto file = format::GgufFile::open(options.path);
        if (!file.ok()) return report_failure(file.error().message());
        print_gguf(file.value(), options);
        return 0;
    }
    auto file = format::SafetensorsFile::open(options.path);
    if (!file.ok()) return report_failure(file.error().message());
    print_safetensors_file(file.value());
    return 0;
}

}  // namespace tern::cli
