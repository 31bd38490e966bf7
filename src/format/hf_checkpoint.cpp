#include "format/hf_checkpoint.h"

#include <filesystem>
#include <set>

#include "core/str_cat.h"

namespace tern::format {
namespace {

constexpr size_t kMaxJsonFileBytes = 64u << 20;

std::string join(const std::string& dir, const std::string& file) { return (std::filesystem::path(dir) / file).string(); }

}  // namespace

Result<HfCheckpoint> HfCheckpoint::open(const std::string& dir) {
    HfCheckpoint checkpoint;
    checkpoint.dir_ = dir;
    std::error_code ignored;
    if (!std::filesystem::is_directory(dir, ignored)) return Error(str_cat(dir, ": not a directory"));
    const std::string config_path = join(dir, "config.json");
    if (!std::filesystem::exists(config_path, ignored)) return Error(str_cat(dir, ": no config.json (not a Hugging Face model folder)"));
    TERN_ASSIGN_OR_RETURN(const std::string config_text, read_text_file(config_path, kMaxJsonFileBytes));
    TERN_ASSIGN_OR_RETURN(checkpoint.config_, parse_hf_config(config_text, config_path));
    checkpoint.has_tokenizer_json_ = std::filesystem::exists(join(dir, "tokenizer.json"), ignored);

    const std::string index_path = join(dir, "model.safetensors.index.json");
    std::vector<std::pair<std::string, std::string>> weight_map;
    std::set<std::string> shard_names;
    if (std::filesystem::exists(index_path, ignored)) {
        TERN_ASSIGN_OR_RETURN(const std::string index_text, read_text_file(index_path, kMaxJsonFileBytes));
        TERN_ASSIGN_OR_RETURN(weight_map, parse_safetensors_index(index_text, index_path));
        for (const auto& [tensor, shard] : weight_map) shard_names.insert(shard);
        if (shard_names.empty()) return Error(str_cat(index_path, ": weight_map is empty"));
    } else if (std::filesystem::exists(join(dir, "model.safetensors"), ignored)) {
        shard_names.insert("model.safetensors");
    } else {
        return Error(str_cat(dir, ": neither model.safetensors nor model.safetensors.index.json found"));
    }

    for (const std::string& shard_name : shard_names) {
        TERN_ASSIGN_OR_RETURN(SafetensorsFile shard, SafetensorsFile::open(join(dir, shard_name)));
        checkpoint.shards_.push_back(std::make_unique<SafetensorsFile>(std::move(shard)));
        const SafetensorsFile* file = checkpoint.shards_.back().get();
        for (const SafetensorsTensor& tensor : file->contents().tensors) {
            const auto [it, inserted] = checkpoint.by_name_.emplace(tensor.name, TensorRef{&tensor, file});
            if (!inserted) {
                return Error(str_cat(dir, ": tensor ", quote(tensor.name), " is stored in both ",
                                     it->second.shard->path(), " and ", file->path()));
            }
        }
    }
    if (!weight_map.empty()) TERN_TRY(checkpoint.check_index_matches_shards(weight_map, index_path));
    return checkpoint;
}

Status HfCheckpoint::check_index_matches_shards(const std::vector<std::pair<std::string, std::string>>& weight_map,
                                               const std::string& index_path) const {
    std::set<std::string_view> listed;
    for (const auto& [tensor, shard] : weight_map) {
        const auto it = by_name_.find(tensor);
        if (it == by_name_.end() || it->second.shard->path() != join(dir_, shard)) {
            return Error(str_cat(index_path, ": tensor ", quote(tensor), " is listed in shard ", quote(shard),
                                 " but that shard does not hold it"));
        }
        listed.insert(tensor);
    }
    for (const auto& [name, ref] : by_name_) {
        if (listed.count(name) == 0) {
            return Error(str_cat(index_path, ": tensor ", quote(name), " in ", ref.shard->path(), " is missing from weight_map"));
        }
    }
    return {};
}

std::vector<HfCheckpoint::TensorRef> HfCheckpoint::tensors() const {
    std::vector<TensorRef> out;
    for (const auto& [name, ref] : by_name_) out.push_back(ref);
    return out;
}

const HfCheckpoint::TensorRef* HfCheckpoint::find(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
}

}  // namespace tern::format
