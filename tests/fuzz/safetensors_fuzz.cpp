// libFuzzer target: any bytes into the safetensors parser; accepted tensors must lie inside
// the input.
#include <cstddef>
#include <cstdint>

#include "format/safetensors_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    auto parsed = tern::format::parse_safetensors(bytes, "fuzz.safetensors");
    if (!parsed.ok()) return 0;
    for (const auto& tensor : parsed.value().tensors) {
        const auto payload = parsed.value().tensor_data(tensor);
        if (payload.data() < bytes.data() || payload.data() + payload.size() > bytes.data() + bytes.size()) __builtin_trap();
    }
    return 0;
}
