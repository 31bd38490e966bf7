#include "format/safetensors_reader.h"

#include <algorithm>
#include <cstring>

#include "core/checked_math.h"
#include "core/str_cat.h"
#include "format/json_util.h"

namespace tern::format {
namespace {

struct DtypeInfo {
    std::string_view name;
    size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},   {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
    {"BF16", 2}, {"I32", 4}, {"U32", 4},  {"F32", 4},     {"F64", 8},     {"I64", 8}, {"U64", 8},
};
static_assert(std::size(kDtypes) == static_cast<size_t>(SafetensorsDtype::kCount));

Result<uint64_t> read_u64_array_element(const nlohmann::json& array, size_t i, const std::string& context) {
    if (!array[i].is_number_unsigned()) {
        return Error(str_cat(context, " element ", i, " is ", json_kind(array[i]), ", expected a non-negative integer"));
    }
    return array[i].get<uint64_t>();
}

Result<SafetensorsTensor> parse_tensor_entry(const std::string& name, const nlohmann::json& entry,
                                             std::string_view source) {
    const std::string context = str_cat(source, ": tensor ", quote(name));
    if (!entry.is_object()) return Error(str_cat(context, ": entry is ", json_kind(entry), ", expected an object"));
    for (const auto& [key, unused] : entry.items()) {
        if (key != "dtype" && key != "shape" && key != "data_offsets") return Error(str_cat(context, ": unexpected field ", quote(key)));
    }
    SafetensorsTensor tensor;
    tensor.name = name;
    const auto dtype = entry.find("dtype");
    if (dtype == entry.end() || !dtype->is_string()) return Error(str_cat(context, ": missing string field 'dtype'"));
    const auto dtype_it = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                       [&](const DtypeInfo& d) { return d.name == dtype->get_ref<const std::string&>(); });
    if (dtype_it == std::end(kDtypes)) return Error(str_cat(context, ": unknown dtype ", quote(dtype->get_ref<const std::string&>())));
    tensor.dtype = static_cast<SafetensorsDtype>(dtype_it - std::begin(kDtypes));

    const auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array()) return Error(str_cat(context, ": missing array field 'shape'"));
    uint64_t n_elements = 1;
    for (size_t i = 0; i < shape->size(); ++i) {
        TERN_ASSIGN_OR_RETURN(const uint64_t extent, read_u64_array_element(*shape, i, context + ": shape"));
        const auto product = checked_mul(n_elements, extent);
        if (!product) return Error(str_cat(context, ": element count of shape ", json_preview(*shape), " overflows"));
        n_elements = *product;
        tensor.shape.push_back(extent);
    }
    tensor.n_elements = n_elements;

    const auto offsets = entry.find("data_offsets");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2) {
        return Error(str_cat(context, ": 'data_offsets' must be an array [begin, end]"));
    }
    TERN_ASSIGN_OR_RETURN(tensor.begin, read_u64_array_element(*offsets, 0, context + ": data_offsets"));
    TERN_ASSIGN_OR_RETURN(tensor.end, read_u64_array_element(*offsets, 1, context + ": data_offsets"));
    const auto expected = checked_mul(n_elements, dtype_it->size);
    if (tensor.end < tensor.begin || !expected || tensor.end - tensor.begin != *expected) {
        return Error(str_cat(context, ": data_offsets [", tensor.begin, ", ", tensor.end, ") hold ",
                             tensor.end >= tensor.begin ? tensor.end - tensor.begin : 0, " bytes, but ",
                             dtype_it->name, " ", json_preview(*shape), " needs ",
                             expected ? std::to_string(*expected) : std::string("more than 2^64")));
    }
    return tensor;
}

Result<std::map<std::string, std::string>> parse_metadata(const nlohmann::json& value, std::string_view source) {
    if (!value.is_object()) return Error(str_cat(source, ": __metadata__ is ", json_kind(value), ", expected an object"));
    std::map<std::string, std::string> metadata;
    for (const auto& [key, item] : value.items()) {
        if (!item.is_string()) {
            return Error(str_cat(source, ": __metadata__ ", quote(key), " is ", json_kind(item), ", expected a string"));
        }
        metadata.emplace(key, item.get<std::string>());
    }
    return metadata;
}

// The tensors must tile the buffer: sorted by offset, no gaps, no overlap, nothing left over.
Status check_tiling(const std::vector<SafetensorsTensor>& tensors, uint64_t buffer_bytes, std::string_view source) {
    std::vector<const SafetensorsTensor*> order;
    for (const auto& t : tensors) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t expected_begin = 0;
    for (const SafetensorsTensor* t : order) {
        if (t->begin != expected_begin) {
            return Error(str_cat(source, ": tensor ", quote(t->name), " starts at buffer offset ", t->begin,
                                 ", expected ", expected_begin, t->begin < expected_begin ? " (overlaps the previous tensor)"
                                                                                       : " (gap before it)"));
        }
        expected_begin = t->end;
    }
    if (expected_begin != buffer_bytes) {
        return Error(str_cat(source, ": tensors cover ", expected_begin, " bytes of the data buffer, but it holds ",
                             buffer_bytes, " bytes", expected_begin > buffer_bytes ? " (truncated file?)" : ""));
    }
    return {};
}

}  // namespace

std::string_view safetensors_dtype_name(SafetensorsDtype dtype) { return kDtypes[static_cast<size_t>(dtype)].name; }
size_t safetensors_dtype_size(SafetensorsDtype dtype) { return kDtypes[static_cast<size_t>(dtype)].size; }

const SafetensorsTensor* SafetensorsContents::find(std::string_view name) const {
    const auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                                     [](const SafetensorsTensor& t, std::string_view n) { return t.name < n; });
    return it != tensors.end() && it->name == name ? &*it : nullptr;
}

std::span<const std::byte> SafetensorsContents::tensor_data(const SafetensorsTensor& tensor) const {
    return file_bytes_.subspan(data_offset + tensor.begin, tensor.end - tensor.begin);
}

Result<SafetensorsContents> parse_safetensors(std::span<const std::byte> bytes, std::string_view source) {
    if (bytes.size() < 8) return Error(str_cat(source, ": file is ", bytes.size(), " bytes, too short for a safetensors header"));
    uint64_t header_bytes;
    std::memcpy(&header_bytes, bytes.data(), 8);
    if (header_bytes > kSafetensorsMaxHeaderBytes || header_bytes > bytes.size() - 8) {
        return Error(str_cat(source, ": header length ", header_bytes, " exceeds ",
                             header_bytes > kSafetensorsMaxHeaderBytes ? "the 100 MB limit" : "the file size",
                             " (", bytes.size(), " bytes); not a safetensors file or truncated"));
    }
    const std::string_view header(reinterpret_cast<const char*>(bytes.data() + 8), header_bytes);
    if (header.empty() || header.front() != '{') return Error(str_cat(source, ": header does not start with '{'; not a safetensors file"));
    // Depth 3: {"name": {"shape": [..]}}.
    TERN_ASSIGN_OR_RETURN(const nlohmann::json root, parse_json_strict(header, source, 3));
    SafetensorsContents contents;
    contents.file_bytes_ = bytes;
    contents.data_offset = 8 + header_bytes;
    for (const auto& [name, entry] : root.items()) {
        if (name == "__metadata__") {
            TERN_ASSIGN_OR_RETURN(contents.metadata, parse_metadata(entry, source));
            continue;
        }
        TERN_ASSIGN_OR_RETURN(SafetensorsTensor tensor, parse_tensor_entry(name, entry, source));
        contents.tensors.push_back(std::move(tensor));
    }
    TERN_TRY(check_tiling(contents.tensors, bytes.size() - contents.data_offset, source));
    return contents;
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    TERN_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
    TERN_ASSIGN_OR_RETURN(SafetensorsContents contents, parse_safetensors(map.bytes(), path));
    return SafetensorsFile(std::move(map), std::move(contents));
}

}  // namespace tern::format
