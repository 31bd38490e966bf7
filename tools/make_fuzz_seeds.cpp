// Regenerates the committed seed corpora in tests/fuzz/corpus/<target>/: small valid files
// of each kind plus a few near-misses. Usage: make_fuzz_seeds CORPUS_DIR
#include <cstdio>
#include <filesystem>
#include <string>

#include "testing/test_files.h"

namespace fs = std::filesystem;
using tern::testing::write_file;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_fuzz_seeds CORPUS_DIR\n");
        return 2;
    }
    const fs::path root = argv[1];
    for (const char* target : {"gguf", "safetensors", "hf_config"}) fs::create_directories(root / target);

    const auto tiny = tern::testing::make_tiny_gguf();
    write_file(root / "gguf/tiny.gguf", tiny);
    write_file(root / "gguf/all_types.gguf", tern::testing::make_all_types_writer().write_to_buffer());
    auto truncated = tiny;
    truncated.resize(tiny.size() / 2);
    write_file(root / "gguf/truncated.gguf", truncated);

    write_file(root / "safetensors/tiny.safetensors", tern::testing::make_tiny_safetensors());
    write_file(root / "safetensors/packed_ternary.safetensors",
               tern::testing::make_safetensors(
                   R"({"w.weight":{"dtype":"U8","shape":[2,8],"data_offsets":[0,16]},)"
                   R"("w.weight_scale":{"dtype":"BF16","shape":[1],"data_offsets":[16,18]}})",
                   std::vector<std::byte>(18)));

    write_file(root / "hf_config/bitnet_config.json",
               std::string(R"({"architectures": ["BitNetForCausalLM"], "hidden_size": 2560, "num_hidden_layers": 30,)"
                           R"( "rms_norm_eps": 1e-05, "eos_token_id": [128001, 128009], "tie_word_embeddings": true,)"
                           R"( "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear"}})"));
    write_file(root / "hf_config/index.json",
               std::string(R"({"metadata": {"total_size": 16}, "weight_map": {"a": "model-00001-of-00002.safetensors",)"
                           R"( "b": "model-00002-of-00002.safetensors"}})"));
    return 0;
}
