// config.json of a Hugging Face model folder: the fields tern uses, type-checked, plus the
// whole document for `tern inspect`. Absent optional fields stay empty; present fields of
// the wrong type are errors naming the field and what was found.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tern/status.h"

namespace tern::format {

// quantization_config with quant_method "bitnet" (transformers BitNetQuantConfig); the
// defaults are transformers' defaults. See docs/formats.md for what linear_class implies.
// quant_method "fairy2i" marks a LLaMA checkpoint of Fairy2i QAT master weights, with the
// number of PhaseQuant stages (1: W1, 2: W2).
struct HfBitnetQuantization {
    std::string quant_method;
    std::optional<uint64_t> stages;
    std::string linear_class = "bitlinear";       // or "autobitlinear"
    std::string quantization_mode = "offline";    // or "online"
    bool use_rms_norm = false;
    std::vector<std::string> modules_to_not_convert;
};

struct HfConfig {
    std::vector<std::string> architectures;
    std::string model_type;
    std::optional<uint64_t> vocab_size;
    std::optional<uint64_t> hidden_size;
    std::optional<uint64_t> intermediate_size;
    std::optional<uint64_t> num_hidden_layers;
    std::optional<uint64_t> num_attention_heads;
    std::optional<uint64_t> num_key_value_heads;
    std::optional<uint64_t> head_dim;
    std::optional<uint64_t> max_position_embeddings;
    std::optional<uint64_t> sliding_window;       // Mistral; null or absent: none
    bool attention_bias = false;
    std::optional<double> rms_norm_eps;
    std::optional<double> rope_theta;
    std::string hidden_act;
    std::string torch_dtype;
    bool tie_word_embeddings = false;
    std::optional<int64_t> bos_token_id;
    std::vector<int64_t> eos_token_ids;           // config allows an int or a list
    std::optional<HfBitnetQuantization> quantization;
    // HGRN-Bit (HGRNBitForCausalLM) fields; the defaults are its configuration class's.
    std::optional<uint64_t> num_heads;
    std::optional<uint64_t> expand_ratio;
    std::optional<double> hidden_ratio;
    std::string attn_mode;
    bool use_short_conv = false;
    bool use_lower_bound = true;
    // Every key, nested objects flattened with '.', values as compact JSON, in key order.
    std::vector<std::pair<std::string, std::string>> all_fields;
};

Result<HfConfig> parse_hf_config(std::string_view json_text, std::string_view source);

// model.safetensors.index.json: tensor name -> shard file name (a plain file name in the
// same folder; paths with '/' or '..' are refused).
Result<std::vector<std::pair<std::string, std::string>>> parse_safetensors_index(std::string_view json_text,
                                                                                 std::string_view source);

}  // namespace tern::format
