#include "format/hf_config.h"

#include "core/str_cat.h"
#include "format/json_util.h"

namespace tern::format {
namespace {

using nlohmann::json;

// Real configs nest a few levels (rope_scaling, quantization_config, task_specific_params).
constexpr int kMaxConfigDepth = 8;

class FieldReader {
public:
    FieldReader(const json& object, std::string source) : object_(object), source_(std::move(source)) {}

    Status read(const char* key, std::optional<uint64_t>& out, bool positive = true) {
        const json* value = find(key);
        if (value == nullptr) return {};
        if (!value->is_number_unsigned() || (positive && value->get<uint64_t>() == 0)) {
            return wrong(key, *value, positive ? "a positive integer" : "a non-negative integer");
        }
        out = value->get<uint64_t>();
        return {};
    }
    Status read(const char* key, std::optional<double>& out) {
        const json* value = find(key);
        if (value == nullptr) return {};
        if (!value->is_number()) return wrong(key, *value, "a number");
        out = value->get<double>();
        return {};
    }
    Status read(const char* key, std::optional<int64_t>& out) {
        const json* value = find(key);
        if (value == nullptr) return {};
        if (!value->is_number_integer()) return wrong(key, *value, "an integer");
        if (value->is_number_unsigned() && value->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return wrong(key, *value, "an int64");
        out = value->get<int64_t>();
        return {};
    }
    Status read(const char* key, std::string& out) {
        const json* value = find(key);
        if (value == nullptr) return {};
        if (!value->is_string()) return wrong(key, *value, "a string");
        out = value->get<std::string>();
        return {};
    }
    Status read(const char* key, bool& out) {
        const json* value = find(key);
        if (value == nullptr) return {};
        if (!value->is_boolean()) return wrong(key, *value, "true or false");
        out = value->get<bool>();
        return {};
    }
    Status read(const char* key, std::vector<std::string>& out) {
        const json* value = find(key);
        if (value == nullptr) return {};
        if (!value->is_array()) return wrong(key, *value, "an array of strings");
        for (const json& item : *value) {
            if (!item.is_string()) return wrong(key, *value, "an array of strings");
            out.push_back(item.get<std::string>());
        }
        return {};
    }
    Status read_int_or_list(const char* key, std::vector<int64_t>& out) {
        const json* value = find(key);
        if (value == nullptr) return {};
        const json list = value->is_array() ? *value : json::array({*value});
        for (const json& item : list) {
            if (!item.is_number_integer()) return wrong(key, *value, "an integer or a list of integers");
            out.push_back(item.get<int64_t>());
        }
        return {};
    }
    const json* find(const char* key) const {
        const auto it = object_.find(key);
        return it == object_.end() || it->is_null() ? nullptr : &*it;
    }

private:
    Error wrong(const char* key, const json& value, std::string_view expected) const {
        return Error(str_cat(source_, ": '", key, "': expected ", expected, ", found ", json_kind(value), " ",
                             json_preview(value)));
    }

    const json& object_;
    std::string source_;
};

Result<HfBitnetQuantization> parse_quantization(const json& value, std::string_view source) {
    if (!value.is_object()) {
        return Error(str_cat(source, ": 'quantization_config': expected an object, found ", json_kind(value)));
    }
    FieldReader fields(value, str_cat(source, ": quantization_config"));
    HfBitnetQuantization q;
    TERN_TRY(fields.read("quant_method", q.quant_method));
    TERN_TRY(fields.read("linear_class", q.linear_class));
    TERN_TRY(fields.read("quantization_mode", q.quantization_mode));
    TERN_TRY(fields.read("use_rms_norm", q.use_rms_norm));
    TERN_TRY(fields.read("modules_to_not_convert", q.modules_to_not_convert));
    TERN_TRY(fields.read("stages", q.stages));
    if (q.quant_method == "fairy2i" && q.stages.value_or(2) != 1 && q.stages.value_or(2) != 2)
        return Error(str_cat(source, ": quantization_config: 'stages' is ", *q.stages, ", expected 1 or 2"));
    if (q.linear_class != "bitlinear" && q.linear_class != "autobitlinear") {
        return Error(str_cat(source, ": quantization_config: 'linear_class' is ", quote(q.linear_class),
                             ", expected 'bitlinear' or 'autobitlinear'"));
    }
    if (q.quantization_mode != "offline" && q.quantization_mode != "online") {
        return Error(str_cat(source, ": quantization_config: 'quantization_mode' is ", quote(q.quantization_mode),
                             ", expected 'offline' or 'online'"));
    }
    return q;
}

void flatten(const json& value, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
    if (value.is_object() && !value.empty()) {
        for (const auto& [key, item] : value.items()) flatten(item, prefix.empty() ? key : prefix + "." + key, out);
        return;
    }
    out.emplace_back(prefix, json_preview(value, 200));
}

Status read_model_fields(FieldReader& f, HfConfig& c) {
    TERN_TRY(f.read("architectures", c.architectures));
    TERN_TRY(f.read("model_type", c.model_type));
    TERN_TRY(f.read("vocab_size", c.vocab_size));
    TERN_TRY(f.read("hidden_size", c.hidden_size));
    TERN_TRY(f.read("intermediate_size", c.intermediate_size));
    TERN_TRY(f.read("num_hidden_layers", c.num_hidden_layers));
    TERN_TRY(f.read("num_attention_heads", c.num_attention_heads));
    TERN_TRY(f.read("num_key_value_heads", c.num_key_value_heads));
    TERN_TRY(f.read("head_dim", c.head_dim));
    TERN_TRY(f.read("max_position_embeddings", c.max_position_embeddings));
    TERN_TRY(f.read("sliding_window", c.sliding_window));
    TERN_TRY(f.read("attention_bias", c.attention_bias));
    TERN_TRY(f.read("rms_norm_eps", c.rms_norm_eps));
    TERN_TRY(f.read("rope_theta", c.rope_theta));
    TERN_TRY(f.read("hidden_act", c.hidden_act));
    TERN_TRY(f.read("torch_dtype", c.torch_dtype));
    TERN_TRY(f.read("tie_word_embeddings", c.tie_word_embeddings));
    TERN_TRY(f.read("bos_token_id", c.bos_token_id));
    TERN_TRY(f.read_int_or_list("eos_token_id", c.eos_token_ids));
    TERN_TRY(f.read("num_heads", c.num_heads));
    TERN_TRY(f.read("expand_ratio", c.expand_ratio));
    TERN_TRY(f.read("hidden_ratio", c.hidden_ratio));
    TERN_TRY(f.read("attn_mode", c.attn_mode));
    TERN_TRY(f.read("use_short_conv", c.use_short_conv));
    TERN_TRY(f.read("use_lower_bound", c.use_lower_bound));
    return {};
}

}  // namespace

Result<HfConfig> parse_hf_config(std::string_view json_text, std::string_view source) {
    TERN_ASSIGN_OR_RETURN(const json root, parse_json_strict(json_text, source, kMaxConfigDepth));
    if (!root.is_object()) return Error(str_cat(source, ": expected a JSON object, found ", json_kind(root)));
    HfConfig config;
    FieldReader fields(root, std::string(source));
    TERN_TRY(read_model_fields(fields, config));
    if (const json* q = fields.find("quantization_config")) {
        TERN_ASSIGN_OR_RETURN(config.quantization, parse_quantization(*q, source));
    }
    flatten(root, "", config.all_fields);
    return config;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_safetensors_index(std::string_view json_text,
                                                                                 std::string_view source) {
    TERN_ASSIGN_OR_RETURN(const json root, parse_json_strict(json_text, source, 4));
    const auto map = root.is_object() ? root.find("weight_map") : root.end();
    if (map == root.end() || !map->is_object()) return Error(str_cat(source, ": missing object 'weight_map'"));
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto& [tensor, shard] : map->items()) {
        if (!shard.is_string()) {
            return Error(str_cat(source, ": weight_map ", quote(tensor), ": expected a file name, found ", json_kind(shard)));
        }
        const auto& file = shard.get_ref<const std::string&>();
        if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos ||
            file.find('\\') != std::string::npos || file.find('\0') != std::string::npos) {
            return Error(str_cat(source, ": weight_map ", quote(tensor), ": shard ", quote(file),
                                 " is not a plain file name in the model folder"));
        }
        entries.emplace_back(tensor, file);
    }
    return entries;
}

}  // namespace tern::format
