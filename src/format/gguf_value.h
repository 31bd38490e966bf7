// A GGUF metadata value: a scalar or a one-level array of one of the 12 element types,
// kept with its exact on-disk type so that a file read and written back is byte-identical.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace tern::format {

enum class GgufType : uint32_t {
    kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
    kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12, kCount = 13,
};

std::string_view gguf_type_name(GgufType type);   // "uint32", "string", ...
// Bytes per element for fixed-size types; 0 for kString and kArray.
size_t gguf_type_size(GgufType type);

class GgufValue {
public:
    GgufValue() = default;

    // Scalars.
    static GgufValue u8(uint8_t v) { return scalar(GgufType::kUint8, v); }
    static GgufValue i8(int8_t v) { return scalar(GgufType::kInt8, v); }
    static GgufValue u16(uint16_t v) { return scalar(GgufType::kUint16, v); }
    static GgufValue i16(int16_t v) { return scalar(GgufType::kInt16, v); }
    static GgufValue u32(uint32_t v) { return scalar(GgufType::kUint32, v); }
    static GgufValue i32(int32_t v) { return scalar(GgufType::kInt32, v); }
    static GgufValue f32(float v) { return scalar(GgufType::kFloat32, v); }
    static GgufValue boolean(bool v) { return scalar(GgufType::kBool, static_cast<uint8_t>(v)); }
    static GgufValue u64(uint64_t v) { return scalar(GgufType::kUint64, v); }
    static GgufValue i64(int64_t v) { return scalar(GgufType::kInt64, v); }
    static GgufValue f64(double v) { return scalar(GgufType::kFloat64, v); }
    static GgufValue string(std::string v);

    // Arrays. `raw` holds count * gguf_type_size(elem_type) little-endian bytes; bools are
    // one byte each, 0 or 1.
    static GgufValue array_raw(GgufType elem_type, uint64_t count, std::vector<std::byte> raw);
    template <class T>
    static GgufValue array(GgufType elem_type, std::span<const T> values) {
        std::vector<std::byte> raw(values.size_bytes());
        if (!raw.empty()) std::memcpy(raw.data(), values.data(), raw.size());
        return array_raw(elem_type, values.size(), std::move(raw));
    }
    static GgufValue string_array(std::vector<std::string> values);

    bool is_array() const { return is_array_; }
    GgufType type() const { return is_array_ ? GgufType::kArray : elem_type_; }
    GgufType elem_type() const { return elem_type_; }   // for scalars, the scalar's type
    uint64_t size() const { return count_; }           // 1 for scalars

    // Element i as T; T must match the element size (caller checks elem_type()).
    template <class T>
        requires std::is_trivially_copyable_v<T>
    T element(uint64_t i) const {
        T value;
        std::memcpy(&value, raw_.data() + i * sizeof(T), sizeof(T));
        return value;
    }
    const std::string& string_element(uint64_t i) const { return strings_[i]; }
    std::span<const std::byte> raw_bytes() const { return raw_; }

    // Typed accessors for scalars; nullopt when this is an array or of another kind.
    // Integer accessors accept any integer type that holds the value exactly (converters
    // write hyperparameters as u32, i32 or u64 interchangeably).
    std::optional<uint64_t> as_uint() const;
    std::optional<int64_t> as_int() const;
    std::optional<double> as_float() const;     // FLOAT32 or FLOAT64
    std::optional<bool> as_bool() const;
    const std::string* as_string() const;

    friend bool operator==(const GgufValue&, const GgufValue&) = default;

private:
    template <class T>
    static GgufValue scalar(GgufType type, T v) {
        GgufValue value;
        value.elem_type_ = type;
        value.raw_.resize(sizeof(T));
        std::memcpy(value.raw_.data(), &v, sizeof(T));
        return value;
    }

    GgufType elem_type_ = GgufType::kUint8;
    bool is_array_ = false;
    uint64_t count_ = 1;
    std::vector<std::byte> raw_;          // fixed-size elements
    std::vector<std::string> strings_;    // string elements
};

// One-line rendering for `tern inspect`: numbers in full, strings quoted and escaped, arrays
// as "[string x 32000] '<unk>', '<s>', ..." with at most max_elems elements shown.
std::string format_gguf_value(const GgufValue& value, size_t max_elems = 8);

}  // namespace tern::format
