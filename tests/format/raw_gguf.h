// Builds GGUF bytes field by field, with no validation, to craft malformed files in tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

namespace tern::testing {

class RawGguf {
public:
    RawGguf& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
        bytes_.insert(bytes_.end(), {std::byte{'G'}, std::byte{'G'}, std::byte{'U'}, std::byte{'F'}});
        return u32(version).u64(n_tensors).u64(n_kv);
    }
    RawGguf& u8(uint8_t v) { return put(v); }
    RawGguf& u32(uint32_t v) { return put(v); }
    RawGguf& u64(uint64_t v) { return put(v); }
    RawGguf& f32(float v) { return put(v); }
    RawGguf& str(std::string_view s) {
        u64(s.size());
        for (char c : s) bytes_.push_back(static_cast<std::byte>(c));
        return *this;
    }
    RawGguf& kv_u32(std::string_view key, uint32_t v) { return str(key).u32(4).u32(v); }
    RawGguf& kv_str(std::string_view key, std::string_view v) { return str(key).u32(8).str(v); }
    RawGguf& tensor(std::string_view name, std::initializer_list<uint64_t> dims, uint32_t type, uint64_t offset) {
        str(name).u32(static_cast<uint32_t>(dims.size()));
        for (uint64_t d : dims) u64(d);
        return u32(type).u64(offset);
    }
    RawGguf& pad(size_t alignment) {
        while (bytes_.size() % alignment != 0) bytes_.push_back(std::byte{0});
        return *this;
    }
    RawGguf& zeros(size_t n) {
        bytes_.insert(bytes_.end(), n, std::byte{0});
        return *this;
    }
    std::span<const std::byte> bytes() const { return bytes_; }
    size_t size() const { return bytes_.size(); }

private:
    template <class T>
    RawGguf& put(T v) {
        const auto* p = reinterpret_cast<const std::byte*>(&v);
        bytes_.insert(bytes_.end(), p, p + sizeof v);
        return *this;
    }
    std::vector<std::byte> bytes_;
};

}  // namespace tern::testing
