#include "format/gguf_reader.h"

#include <algorithm>

#include "core/checked_math.h"
#include "core/str_cat.h"
#include "format/byte_reader.h"

namespace tern::format {

// The smallest encodings, used to bound counts by what the remaining bytes could hold:
// a KV is key length (8) + 1 key byte + type (4) + 1 value byte; a tensor info is name
// length (8) + 1 name byte + n_dims (4) + type (4) + offset (8).
constexpr uint64_t kMinKvBytes = 14;
constexpr uint64_t kMinTensorInfoBytes = 25;

class GgufParser {
public:
    GgufParser(std::span<const std::byte> bytes, std::string_view source_name)
        : reader_(bytes, source_name), source_(source_name) {
        out_.file_bytes_ = bytes;
    }

    Result<GgufContents> parse() {
        TERN_TRY(read_header());
        for (uint64_t i = 0; i < n_kv_; ++i) TERN_TRY(read_kv(i));
        TERN_TRY(read_alignment());
        for (uint64_t i = 0; i < n_tensors_; ++i) TERN_TRY(read_tensor_info(i));
        TERN_TRY(locate_data_section());
        TERN_TRY(check_tensor_ranges());
        return std::move(out_);
    }

private:
    Status read_header() {
        TERN_ASSIGN_OR_RETURN(const auto magic, reader_.read_bytes("magic", 4));
        if (std::memcmp(magic.data(), "GGUF", 4) != 0) {
            std::string found(reinterpret_cast<const char*>(magic.data()), 4);
            return Error(str_cat(source_, ": not a GGUF file: magic is ", quote(found), ", expected 'GGUF'"));
        }
        TERN_ASSIGN_OR_RETURN(out_.version, reader_.read<uint32_t>("version"));
        TERN_TRY(check_version(out_.version));
        TERN_ASSIGN_OR_RETURN(n_tensors_, reader_.read<uint64_t>("tensor count"));
        TERN_ASSIGN_OR_RETURN(n_kv_, reader_.read<uint64_t>("metadata count"));
        // Each record needs a minimum number of bytes, so honest counts are bounded by the
        // file size; this keeps hostile counts from driving allocations or long loops.
        const uint64_t room = reader_.remaining();
        if (n_kv_ > room / kMinKvBytes || n_tensors_ > room / kMinTensorInfoBytes ||
            n_kv_ * kMinKvBytes + n_tensors_ * kMinTensorInfoBytes > room) {
            return Error(str_cat(source_, ": header claims ", n_tensors_, " tensors and ", n_kv_,
                                 " metadata entries, but only ", room, " bytes follow (truncated or corrupt file)"));
        }
        return {};
    }

    Status check_version(uint32_t version) const {
        if ((version & 0xffffu) == 0 && version != 0) {
            return Error(str_cat(source_, ": GGUF version field is ", hex(version),
                                 ": this looks like a big-endian GGUF file, which tern does not read"));
        }
        if (version == 1) return Error(str_cat(source_, ": GGUF version 1 is obsolete (32-bit counts); convert the file again"));
        if (version < 2 || version > 3) {
            return Error(str_cat(source_, ": unsupported GGUF version ", version, " (tern reads versions 2 and 3)"));
        }
        return {};
    }

    Status read_kv(uint64_t index) {
        const size_t start = reader_.offset();
        const std::string what = str_cat("metadata entry #", index, " key");
        TERN_ASSIGN_OR_RETURN(const std::string_view key, reader_.read_string(what, kGgufMaxKeyBytes));
        if (key.empty()) return Error(str_cat(source_, ": metadata entry #", index, " at offset ", hex(start), " has an empty key"));
        if (out_.key_index_.count(key) != 0) {
            return Error(str_cat(source_, ": duplicate metadata key ", quote(key), " at offset ", hex(start)));
        }
        const std::string context = str_cat("metadata ", quote(key));
        TERN_ASSIGN_OR_RETURN(const uint32_t type_id, reader_.read<uint32_t>(str_cat(context, " type")));
        TERN_ASSIGN_OR_RETURN(GgufValue value, read_value(context, type_id));
        out_.key_index_.emplace(std::string(key), out_.metadata.size());
        out_.metadata.push_back({std::string(key), std::move(value)});
        return {};
    }

    Result<GgufValue> read_value(const std::string& context, uint32_t type_id) {
        if (type_id >= static_cast<uint32_t>(GgufType::kCount)) {
            return reader_.error_here(context, str_cat("unknown value type ", type_id, " (valid: 0..12)"));
        }
        const auto type = static_cast<GgufType>(type_id);
        if (type == GgufType::kArray) return read_array(context);
        if (type == GgufType::kString) {
            TERN_ASSIGN_OR_RETURN(const std::string_view text, reader_.read_string(context, kGgufMaxStringBytes));
            return GgufValue::string(std::string(text));
        }
        TERN_ASSIGN_OR_RETURN(const auto raw, reader_.read_bytes(context, gguf_type_size(type)));
        TERN_TRY(check_bools(context, type, raw));
        return scalar_from_raw(type, raw);
    }

    static GgufValue scalar_from_raw(GgufType type, std::span<const std::byte> raw) {
        switch (type) {
            case GgufType::kUint8: return GgufValue::u8(load<uint8_t>(raw));
            case GgufType::kInt8: return GgufValue::i8(load<int8_t>(raw));
            case GgufType::kUint16: return GgufValue::u16(load<uint16_t>(raw));
            case GgufType::kInt16: return GgufValue::i16(load<int16_t>(raw));
            case GgufType::kUint32: return GgufValue::u32(load<uint32_t>(raw));
            case GgufType::kInt32: return GgufValue::i32(load<int32_t>(raw));
            case GgufType::kFloat32: return GgufValue::f32(load<float>(raw));
            case GgufType::kBool: return GgufValue::boolean(load<uint8_t>(raw) != 0);
            case GgufType::kUint64: return GgufValue::u64(load<uint64_t>(raw));
            case GgufType::kInt64: return GgufValue::i64(load<int64_t>(raw));
            case GgufType::kFloat64: return GgufValue::f64(load<double>(raw));
            default: return GgufValue();
        }
    }

    template <class T>
    static T load(std::span<const std::byte> raw) {
        T value;
        std::memcpy(&value, raw.data(), sizeof(T));
        return value;
    }

    Status check_bools(const std::string& context, GgufType type, std::span<const std::byte> raw) const {
        if (type != GgufType::kBool) return {};
        for (size_t i = 0; i < raw.size(); ++i) {
            const auto byte = static_cast<uint8_t>(raw[i]);
            if (byte > 1) {
                return Error(str_cat(source_, ": ", context, ": bool element ", i, " is ", int(byte),
                                     ", expected 0 or 1 (offset ", hex(reader_.offset() - raw.size() + i), ")"));
            }
        }
        return {};
    }

    Result<GgufValue> read_array(const std::string& context) {
        TERN_ASSIGN_OR_RETURN(const uint32_t elem_id, reader_.read<uint32_t>(str_cat(context, " array element type")));
        if (elem_id == static_cast<uint32_t>(GgufType::kArray)) {
            return reader_.error_here(context, "nested arrays are not supported (ggml rejects them too)");
        }
        if (elem_id >= static_cast<uint32_t>(GgufType::kCount)) {
            return reader_.error_here(context, str_cat("unknown array element type ", elem_id, " (valid: 0..12 except 9)"));
        }
        const auto elem_type = static_cast<GgufType>(elem_id);
        TERN_ASSIGN_OR_RETURN(const uint64_t count, reader_.read<uint64_t>(str_cat(context, " array length")));
        // Strings need at least their 8-byte length each; check before allocating anything.
        const uint64_t min_elem_bytes = elem_type == GgufType::kString ? 8 : gguf_type_size(elem_type);
        if (count > kGgufMaxArrayElems || count * min_elem_bytes > reader_.remaining()) {
            return reader_.error_here(context, str_cat("array of ", count, " ", gguf_type_name(elem_type),
                                                       " elements cannot fit in the ", reader_.remaining(),
                                                       " bytes left"));
        }
        if (elem_type == GgufType::kString) return read_string_array(context, count);
        TERN_ASSIGN_OR_RETURN(const auto raw, reader_.read_bytes(context, count * min_elem_bytes));
        TERN_TRY(check_bools(context, elem_type, raw));
        return GgufValue::array_raw(elem_type, count, {raw.begin(), raw.end()});
    }

    Result<GgufValue> read_string_array(const std::string& context, uint64_t count) {
        std::vector<std::string> strings;
        strings.reserve(count);
        for (uint64_t i = 0; i < count; ++i) {
            TERN_ASSIGN_OR_RETURN(const std::string_view text,
                                  reader_.read_string(str_cat(context, " element ", i), kGgufMaxStringBytes));
            strings.emplace_back(text);
        }
        return GgufValue::string_array(std::move(strings));
    }

    Status read_alignment() {
        const GgufValue* value = out_.find("general.alignment");
        if (value == nullptr) return {};
        if (value->type() != GgufType::kUint32) {
            return Error(str_cat(source_, ": general.alignment has type ", gguf_type_name(value->type()),
                                 ", expected uint32"));
        }
        const uint32_t alignment = value->element<uint32_t>(0);
        if (!is_power_of_two(alignment) || alignment > kGgufMaxAlignment) {
            return Error(str_cat(source_, ": general.alignment is ", alignment,
                                 ", expected a power of two no larger than ", kGgufMaxAlignment));
        }
        out_.alignment = alignment;
        return {};
    }

    Status read_tensor_info(uint64_t index) {
        const size_t start = reader_.offset();
        TERN_ASSIGN_OR_RETURN(const std::string_view name,
                              reader_.read_string(str_cat("tensor #", index, " name"), kGgufMaxStringBytes));
        if (name.empty() || name.size() > kGgufMaxTensorNameBytes) {
            return Error(str_cat(source_, ": tensor #", index, " at offset ", hex(start), ": name length ", name.size(),
                                 " is outside 1..", kGgufMaxTensorNameBytes));
        }
        if (out_.tensor_index_.count(name) != 0) {
            return Error(str_cat(source_, ": duplicate tensor name ", quote(name), " at offset ", hex(start)));
        }
        GgufTensorInfo info;
        info.name = std::string(name);
        TERN_TRY(read_shape(info));
        TERN_TRY(read_type(info));
        TERN_ASSIGN_OR_RETURN(info.offset, reader_.read<uint64_t>(str_cat("tensor ", quote(name), " data offset")));
        if (info.offset % out_.alignment != 0) {
            return Error(str_cat(source_, ": tensor ", quote(name), ": data offset ", hex(info.offset),
                                 " is not a multiple of the alignment ", out_.alignment));
        }
        out_.tensor_index_.emplace(info.name, out_.tensors.size());
        out_.tensors.push_back(std::move(info));
        return {};
    }

    Status read_shape(GgufTensorInfo& info) {
        const std::string context = str_cat("tensor ", quote(info.name));
        TERN_ASSIGN_OR_RETURN(info.n_dims, reader_.read<uint32_t>(str_cat(context, " dimension count")));
        if (info.n_dims == 0 || info.n_dims > kGgufMaxDims) {
            return reader_.error_here(context, str_cat("has ", info.n_dims, " dimensions, expected 1..", kGgufMaxDims));
        }
        uint64_t n_elements = 1;
        for (uint32_t d = 0; d < info.n_dims; ++d) {
            TERN_ASSIGN_OR_RETURN(info.ne[d], reader_.read<uint64_t>(str_cat(context, " dimension ", d)));
            const auto product = checked_mul(n_elements, info.ne[d]);
            if (info.ne[d] == 0 || info.ne[d] > INT64_MAX || !product || *product > INT64_MAX) {
                return reader_.error_here(context, str_cat("dimension ", d, " is ", info.ne[d],
                                                           info.ne[d] == 0 ? " (empty tensors are not supported)"
                                                                           : " (element count overflows)"));
            }
            n_elements = *product;
        }
        info.n_elements = n_elements;
        return {};
    }

    Status read_type(GgufTensorInfo& info) {
        const std::string context = str_cat("tensor ", quote(info.name));
        TERN_ASSIGN_OR_RETURN(const uint32_t type_id, reader_.read<uint32_t>(str_cat(context, " type")));
        const auto traits = ggml_type_traits(type_id);
        if (!traits) {
            return Error(str_cat(source_, ": ", context, ": unknown or unsupported ggml type id ", type_id,
                                 type_id == 37 ? " (bitnet.cpp I8_S is a run-time type, never stored)" : ""));
        }
        info.traits = *traits;
        auto bytes = ggml_tensor_bytes(info.traits, info.ne);
        if (!bytes.ok()) return bytes.error().within(str_cat(source_, ": ", context, " (", traits->name, ")"));
        info.n_bytes = bytes.value();
        return {};
    }

    Status locate_data_section() {
        out_.data_offset = reader_.offset();
        if (n_tensors_ == 0) return {};
        const auto aligned = checked_align_up(reader_.offset(), out_.alignment);
        if (!aligned || *aligned > out_.file_bytes_.size()) {
            return Error(str_cat(source_, ": data section would start at ", hex(aligned.value_or(UINT64_MAX)),
                                 ", past end of file (", hex(out_.file_bytes_.size()), " bytes)"));
        }
        out_.data_offset = *aligned;
        return {};
    }

    Status check_tensor_ranges() {
        const uint64_t file_size = out_.file_bytes_.size();
        std::vector<const GgufTensorInfo*> by_offset;
        for (const GgufTensorInfo& t : out_.tensors) {
            const auto begin = checked_add(out_.data_offset, t.offset);
            const auto end = begin ? checked_add(*begin, t.n_bytes) : std::nullopt;
            if (!end || *end > file_size) {
                return Error(str_cat(source_, ": tensor ", quote(t.name), ": data [", hex(out_.data_offset + t.offset),
                                     ", +", hex(t.n_bytes), ") runs past end of file (", hex(file_size), " bytes)"));
            }
            by_offset.push_back(&t);
        }
        std::stable_sort(by_offset.begin(), by_offset.end(),
                         [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
        for (size_t i = 0; i < by_offset.size(); ++i) {
            const GgufTensorInfo& t = *by_offset[i];
            const uint64_t next = i + 1 < by_offset.size() ? by_offset[i + 1]->offset : file_size - out_.data_offset;
            if (i + 1 < by_offset.size() && t.offset + t.n_bytes > next) {
                return Error(str_cat(source_, ": tensors ", quote(t.name), " and ", quote(by_offset[i + 1]->name),
                                     " overlap: [", hex(t.offset), ", +", hex(t.n_bytes), ") and [", hex(next), ", ...)"));
            }
            TERN_TRY(check_not_tl2(t, next));
        }
        return {};
    }

    // Id 39 is MXFP4 upstream and TL2 in bitnet.cpp; the layouts differ, so accept it only
    // when the bytes up to the next tensor fit the MXFP4 size exactly and no TL2-style
    // "<name>_scale" companion exists.
    Status check_not_tl2(const GgufTensorInfo& t, uint64_t next_offset) const {
        if (t.traits.type != GgmlType::kMXFP4) return {};
        const bool has_scale = out_.find_tensor(t.name + "_scale") != nullptr;
        if (has_scale || next_offset - t.offset - t.n_bytes >= out_.alignment) {
            return Error(str_cat(source_, ": tensor ", quote(t.name),
                                 ": type id 39 is laid out as bitnet.cpp TL2 here, not MXFP4; TL2 depends on "
                                 "kernels compiled per model and is not supported: use the I2_S or TQ2_0 file"));
        }
        return {};
    }

    ByteReader reader_;
    std::string_view source_;
    GgufContents out_;
    uint64_t n_tensors_ = 0;
    uint64_t n_kv_ = 0;
};

const GgufValue* GgufContents::find(std::string_view key) const {
    const auto it = key_index_.find(key);
    return it == key_index_.end() ? nullptr : &metadata[it->second].value;
}

const GgufTensorInfo* GgufContents::find_tensor(std::string_view name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors[it->second];
}

std::span<const std::byte> GgufContents::tensor_data(const GgufTensorInfo& tensor) const {
    return file_bytes_.subspan(data_offset + tensor.offset, tensor.n_bytes);
}

std::string GgufContents::architecture() const {
    const GgufValue* value = find("general.architecture");
    const std::string* text = value ? value->as_string() : nullptr;
    return text ? *text : std::string();
}

Result<GgufContents> parse_gguf(std::span<const std::byte> bytes, std::string_view source_name) {
    return GgufParser(bytes, source_name).parse();
}

Result<GgufFile> GgufFile::open(const std::string& path) {
    TERN_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
    TERN_ASSIGN_OR_RETURN(GgufContents contents, parse_gguf(map.bytes(), path));
    return GgufFile(std::move(map), std::move(contents));
}

}  // namespace tern::format
