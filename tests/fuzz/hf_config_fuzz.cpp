// libFuzzer target: any text as config.json and as model.safetensors.index.json.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)tern::format::parse_hf_config(text, "config.json");
    auto index = tern::format::parse_safetensors_index(text, "model.safetensors.index.json");
    if (index.ok()) {
        for (const auto& [tensor, shard] : index.value()) {
            if (shard.find('/') != std::string::npos || shard == "..") __builtin_trap();
        }
    }
    return 0;
}
