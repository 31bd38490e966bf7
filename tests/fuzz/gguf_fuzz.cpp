// libFuzzer target: any bytes into the GGUF parser; if it accepts them, every tensor's data
// must lie inside the input and its dequantisation must not misbehave.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "format/gguf_reader.h"
#include "quant/dequantize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    auto parsed = tern::format::parse_gguf(bytes, "fuzz.gguf");
    if (!parsed.ok()) return 0;
    for (const auto& tensor : parsed.value().tensors) {
        const auto payload = parsed.value().tensor_data(tensor);
        if (payload.data() < bytes.data() || payload.data() + payload.size() > bytes.data() + bytes.size()) __builtin_trap();
        if (!tensor.traits.decodable || tensor.n_elements > (1u << 16)) continue;
        std::vector<float> out(tensor.n_elements);
        (void)tern::quant::dequantize(tensor.traits.type, payload, out);
    }
    for (const auto& kv : parsed.value().metadata) (void)kv.value.as_uint();
    return 0;
}
