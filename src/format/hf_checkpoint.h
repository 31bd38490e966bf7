// A Hugging Face model folder: config.json plus one model.safetensors or several shards
// listed in model.safetensors.index.json. Every shard is mapped and validated at open, and
// the index must agree with the shards exactly (no missing, extra or duplicated tensors).
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "format/hf_config.h"
#include "format/safetensors_reader.h"
#include "tern/status.h"

namespace tern::format {

class HfCheckpoint {
public:
    struct TensorRef {
        const SafetensorsTensor* tensor;
        const SafetensorsFile* shard;
        std::span<const std::byte> data() const { return shard->contents().tensor_data(*tensor); }
    };

    // Errors: no config.json, no model.safetensors and no index, a shard that fails to
    // parse, an index that disagrees with the shards.
    static Result<HfCheckpoint> open(const std::string& dir);

    const std::string& dir() const { return dir_; }
    const HfConfig& config() const { return config_; }
    const std::vector<std::unique_ptr<SafetensorsFile>>& shards() const { return shards_; }
    bool has_tokenizer_json() const { return has_tokenizer_json_; }

    // All tensors, sorted by name.
    std::vector<TensorRef> tensors() const;
    const TensorRef* find(std::string_view name) const;

private:
    Status check_index_matches_shards(const std::vector<std::pair<std::string, std::string>>& weight_map,
                                      const std::string& index_path) const;

    std::string dir_;
    HfConfig config_;
    bool has_tokenizer_json_ = false;
    std::vector<std::unique_ptr<SafetensorsFile>> shards_;
    std::map<std::string, TensorRef, std::less<>> by_name_;
};

}  // namespace tern::format
