#include "model/hf_model_loader.h"

#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/str_cat.h"
#include "format/hf_checkpoint.h"
#include "model/repack_jobs.h"
#include "quant/complex_repack.h"
#include "quant/dequantize.h"
#include "quant/phase_quant.h"
#include "quant/widely_linear.h"
#include "quant/ternary_repack.h"

namespace tern::model {
namespace {

using format::GgmlType;
using format::HfCheckpoint;
using format::SafetensorsDtype;

std::optional<GgmlType> float_type(SafetensorsDtype d) {
    switch (d) {
        case SafetensorsDtype::kF32: return GgmlType::kF32;
        case SafetensorsDtype::kF16: return GgmlType::kF16;
        case SafetensorsDtype::kBF16: return GgmlType::kBF16;
        default: return std::nullopt;
    }
}

std::string shape_text(const std::vector<uint64_t>& shape) {
    std::string t = "[";
    for (size_t i = 0; i < shape.size(); ++i) t += str_cat(i ? ", " : "", shape[i]);
    return t + "]";
}

std::string weight_scale_name(const std::string& weight_name) {
    return weight_name.substr(0, weight_name.size() - std::string_view(".weight").size()) + ".weight_scale";
}

Result<size_t> required(const std::optional<uint64_t>& v, const char* field) {
    if (!v) return Error(str_cat("config.json: '", field, "' is missing"));
    return static_cast<size_t>(*v);
}

Result<Hparams> hparams_from_config(const format::HfConfig& c) {
    Hparams hp;
    TERN_ASSIGN_OR_RETURN(hp.n_vocab, required(c.vocab_size, "vocab_size"));
    TERN_ASSIGN_OR_RETURN(hp.n_embd, required(c.hidden_size, "hidden_size"));
    TERN_ASSIGN_OR_RETURN(hp.n_layer, required(c.num_hidden_layers, "num_hidden_layers"));
    TERN_ASSIGN_OR_RETURN(hp.n_ff, required(c.intermediate_size, "intermediate_size"));
    TERN_ASSIGN_OR_RETURN(hp.n_head, required(c.num_attention_heads, "num_attention_heads"));
    hp.n_head_kv = c.num_key_value_heads.value_or(hp.n_head);
    if (hp.n_head == 0) return Error("config.json: 'num_attention_heads' is 0");
    hp.head_dim = c.head_dim.value_or(hp.n_embd / hp.n_head);
    hp.n_ctx_train = c.max_position_embeddings.value_or(2048);
    // Mistral's sliding window: attention never reaches further back, so within the window the
    // model is plain LLaMA; tern keeps contexts there.
    if (c.sliding_window && *c.sliding_window > 0 && *c.sliding_window < hp.n_ctx_train) hp.n_ctx_train = *c.sliding_window;
    hp.rope_theta = static_cast<float>(c.rope_theta.value_or(10000.0));
    hp.norm_eps = static_cast<float>(c.rms_norm_eps.value_or(1e-5));
    if (Status s = validate_hparams(hp); !s.ok()) return s.error().within("config.json");
    return hp;
}

// HGRN-Bit's config (complex-and-recurrent.md §3.1): no attention heads in the transformer
// sense; the FFN width is derived from hidden_ratio when intermediate_size is null, as
// HGRNBitMLP does. Features the released checkpoints do not use are refused by name.
Result<Hparams> recurrent_hparams_from_config(const format::HfConfig& c) {
    if (c.use_short_conv) return Error("config.json: use_short_conv = true is not supported (no released HGRN-Bit uses it)");
    if (c.expand_ratio.value_or(1) != 1)
        return Error(str_cat("config.json: expand_ratio = ", *c.expand_ratio, " is not supported (1 only)"));
    if (!c.attn_mode.empty() && c.attn_mode != "fused_recurrent" && c.attn_mode != "recurrent")
        return Error(str_cat("config.json: attn_mode '", c.attn_mode, "' is not a recurrence tern knows"));
    if (!c.hidden_act.empty() && c.hidden_act != "swish" && c.hidden_act != "silu")
        return Error(str_cat("config.json: hidden_act '", c.hidden_act, "' is not supported (swish)"));
    Hparams hp;
    TERN_ASSIGN_OR_RETURN(hp.n_vocab, required(c.vocab_size, "vocab_size"));
    TERN_ASSIGN_OR_RETURN(hp.n_embd, required(c.hidden_size, "hidden_size"));
    TERN_ASSIGN_OR_RETURN(hp.n_layer, required(c.num_hidden_layers, "num_hidden_layers"));
    if (c.intermediate_size) {
        hp.n_ff = *c.intermediate_size;
    } else {
        const double ratio = c.hidden_ratio.value_or(4.0);
        if (!(ratio > 0.0 && ratio <= 64.0)) return Error(str_cat("config.json: hidden_ratio = ", ratio, " is outside (0, 64]"));
        const auto third = static_cast<size_t>(static_cast<double>(hp.n_embd) * ratio * 2.0 / 3.0);
        hp.n_ff = 256 * ((third + 255) / 256);
    }
    // The recurrence is elementwise: heads only regroup channels, so one "head" of n_embd
    // describes every value of num_heads the same way.
    const size_t heads = c.num_heads.value_or(1);
    if (heads == 0 || hp.n_embd % heads != 0)
        return Error(str_cat("config.json: num_heads = ", heads, " does not divide hidden_size ", hp.n_embd));
    hp.n_head = hp.n_head_kv = 1;
    hp.head_dim = hp.n_embd;
    hp.n_ctx_train = c.max_position_embeddings.value_or(2048);
    hp.norm_eps = static_cast<float>(c.rms_norm_eps.value_or(1e-6));
    if (Status s = validate_hparams(hp, /*attention=*/false); !s.ok()) return s.error().within("config.json");
    return hp;
}

void check_tensor(const HfCheckpoint& ckpt, const TensorSpec& spec, const Hparams& hp, const std::string& name,
                  std::vector<std::string>& problems);

// A complex tensor's real and imaginary parts: each has the spec's shape and a float dtype.
void check_complex_parts(const HfCheckpoint& ckpt, const TensorSpec& spec, const Hparams& hp, size_t layer,
                         std::vector<std::string>& problems) {
    TensorSpec part = spec;
    part.kind = spec.kind == TensorKind::kComplex ? TensorKind::kFloatMatrix : spec.kind;
    part.hf_name_imag = {};
    const std::string re = tensor_name(spec.hf_name, layer), im = tensor_name(spec.hf_name_imag, layer);
    check_tensor(ckpt, part, hp, re, problems);
    check_tensor(ckpt, part, hp, im, problems);
}

void check_tensor(const HfCheckpoint& ckpt, const TensorSpec& spec, const Hparams& hp, const std::string& name,
                  std::vector<std::string>& problems) {
    const HfCheckpoint::TensorRef* ref = ckpt.find(name);
    if (ref == nullptr) {
        if (!spec.optional) problems.push_back(str_cat("missing '", name, "'"));
        return;
    }
    const auto& shape = ref->tensor->shape;
    const size_t cols = hp.dim(spec.ne0), rows = hp.dim(spec.ne1);
    if (spec.ne1 == Dim::kNone) {
        if (shape != std::vector<uint64_t>{cols})
            problems.push_back(str_cat("'", name, "' has shape ", shape_text(shape), ", expected [", cols, "]"));
    } else if (spec.kind == TensorKind::kTernary && ref->tensor->dtype == SafetensorsDtype::kU8) {
        if (shape != std::vector<uint64_t>{(rows + 3) / 4, cols})
            problems.push_back(str_cat("'", name, "' (packed U8) has shape ", shape_text(shape), ", expected [",
                                       (rows + 3) / 4, ", ", cols, "] (", dim_name(spec.ne1), " / 4, ",
                                       dim_name(spec.ne0), ")"));
        const HfCheckpoint::TensorRef* scale = ckpt.find(weight_scale_name(name));
        if (scale == nullptr)
            problems.push_back(str_cat("missing '", weight_scale_name(name), "' (packed weights need their scale)"));
        else if (!float_type(scale->tensor->dtype) || (scale->tensor->n_elements != 1 && scale->tensor->n_elements != rows))
            problems.push_back(str_cat("'", scale->tensor->name, "' should hold 1 or ", rows, " F32/F16/BF16 values"));
        return;
    } else if (shape != std::vector<uint64_t>{rows, cols}) {
        problems.push_back(str_cat("'", name, "' has shape ", shape_text(shape), ", expected [", rows, ", ", cols, "] (",
                                   dim_name(spec.ne1), ", ", dim_name(spec.ne0), ")"));
    }
    if (!float_type(ref->tensor->dtype))
        problems.push_back(str_cat("'", name, "' has dtype ", safetensors_dtype_name(ref->tensor->dtype),
                                   ", expected F32, F16 or BF16"));
}

// m from weight_scale: W = T * s for autobitlinear, W = T / s for bitlinear (formats.md §5.1).
Result<quant::PackedTernary> load_packed(const HfCheckpoint& ckpt, const HfCheckpoint::TensorRef& ref, size_t rows,
                                         size_t cols, bool scale_multiplies) {
    TERN_ASSIGN_OR_RETURN(std::vector<float> scales, read_hf_floats(*ckpt.find(weight_scale_name(ref.tensor->name))));
    for (float& s : scales) {
        if (!std::isfinite(s) || s == 0.0f) return Error(str_cat("weight_scale ", s, " is not a finite non-zero number"));
        s = scale_multiplies ? s : 1.0f / s;
    }
    const auto data = ref.data();
    TERN_ASSIGN_OR_RETURN(quant::PackedTernary packed,
                          quant::repack_hf_packed({reinterpret_cast<const uint8_t*>(data.data()), data.size()}, rows,
                                                  cols, scales.size() == 1 ? scales[0] : 1.0f));
    if (scales.size() == rows)
        for (size_t r = 0; r < rows; ++r) packed.row_scale.data()[r] *= scales[r];
    return packed;
}

// Float weights: exactly ternary times one scale (a dequantised checkpoint) are kept exactly;
// anything else is latent and ternarised with absmean, as the checkpoint's own code does.
Result<quant::PackedTernary> load_float_ternary(const HfCheckpoint::TensorRef& ref, size_t rows, size_t cols) {
    TERN_ASSIGN_OR_RETURN(std::vector<float> w, read_hf_floats(ref));
    Result<quant::PackedTernary> exact = quant::pack_exact_ternary(w, rows, cols);
    if (exact.ok()) return exact;
    return quant::ternarize_absmean(w, rows, cols);
}

Result<FloatMatrix> float_matrix(const HfCheckpoint::TensorRef& ref) {
    FloatMatrix m;
    m.type = *float_type(ref.tensor->dtype);
    m.rows = ref.tensor->shape[0];
    m.cols = ref.tensor->shape[1];
    m.data = ref.data().data();
    m.row_bytes = m.cols * safetensors_dtype_size(ref.tensor->dtype);
    return m;
}

// A norm's weights; complex norms come as [re | im] from their two tensors.
Result<std::vector<float>> read_norm(const HfCheckpoint& ckpt, const TensorSpec& spec, size_t layer) {
    TERN_ASSIGN_OR_RETURN(std::vector<float> values, read_hf_floats(*ckpt.find(tensor_name(spec.hf_name, layer))));
    if (spec.hf_name_imag.empty()) return values;
    TERN_ASSIGN_OR_RETURN(std::vector<float> imag, read_hf_floats(*ckpt.find(tensor_name(spec.hf_name_imag, layer))));
    values.insert(values.end(), imag.begin(), imag.end());
    return values;
}

// iFairy master weights, PhaseQuant-ed as the reference does in every forward pass.
RepackJob complex_job(const HfCheckpoint& ckpt, const TensorSpec& spec, size_t layer, const Hparams& hp,
                      quant::PackedComplex& dest) {
    const HfCheckpoint::TensorRef* re = ckpt.find(tensor_name(spec.hf_name, layer));
    const HfCheckpoint::TensorRef* im = ckpt.find(tensor_name(spec.hf_name_imag, layer));
    const size_t rows = hp.dim(spec.ne1), cols = hp.dim(spec.ne0);
    return {.name = str_cat(re->tensor->name, " + ", im->tensor->name),
            .source_bytes = re->data().size() + im->data().size(),
            .build = {},
            .dest = nullptr,
            .done = {},
            .build_complex = [re, im, rows, cols]() -> Result<quant::PackedComplex> {
                TERN_ASSIGN_OR_RETURN(std::vector<float> re_values, read_hf_floats(*re));
                TERN_ASSIGN_OR_RETURN(std::vector<float> im_values, read_hf_floats(*im));
                return quant::phase_quantize_matrix(re_values, im_values, rows, cols, quant::kIfairyMinScale);
            },
            .dest_complex = &dest,
            .build_widely_linear = {},
            .dest_widely_linear = nullptr};
}

// Fairy2i master weights, split into U and W and PhaseQuant-ed as the reference's
// convert_to_inference_mode does.
RepackJob widely_linear_job(const HfCheckpoint::TensorRef& ref, size_t rows, size_t cols, size_t stages,
                            quant::PackedWidelyLinear& dest) {
    return {.name = ref.tensor->name,
            .source_bytes = ref.data().size(),
            .build = {},
            .dest = nullptr,
            .done = {},
            .build_complex = {},
            .dest_complex = nullptr,
            .build_widely_linear = [&ref, rows, cols, stages]() -> Result<quant::PackedWidelyLinear> {
                TERN_ASSIGN_OR_RETURN(std::vector<float> a, read_hf_floats(ref));
                return quant::fairy2i_quantize(a, rows, cols, stages);
            },
            .dest_widely_linear = &dest};
}

// Latent or float weights ternarised by `ternarize` as the file is read. HGRN-Bit's master
// weights go through absmean as its BitLinear does in every forward pass, even when they happen
// to be exactly ternary times one scale (a dequantised BitNet would keep that scale; HGRN-Bit's
// code would not); float LLaMA-family weights through the post-training method asked for.
using Ternarizer = Result<quant::PackedTernary> (*)(std::span<const float>, size_t, size_t);
RepackJob ternarize_job(const HfCheckpoint::TensorRef& ref, size_t rows, size_t cols, Ternarizer ternarize,
                        quant::PackedTernary& dest) {
    return {.name = ref.tensor->name, .source_bytes = ref.data().size(),
            .build = [&ref, rows, cols, ternarize]() -> Result<quant::PackedTernary> {
                TERN_ASSIGN_OR_RETURN(std::vector<float> w, read_hf_floats(ref));
                return ternarize(w, rows, cols);
            },
            .dest = &dest, .done = {}};
}

Ternarizer post_training_ternarizer(PostTrainingMethod method) {
    return method == PostTrainingMethod::kThreshold ? &quant::ternarize_threshold : &quant::ternarize_absmean;
}

const char* post_training_name(PostTrainingMethod method) {
    return method == PostTrainingMethod::kThreshold ? "threshold" : "absmean";
}

// Which reading of the folder's weights the caller asked for fits the folder. Float
// LLaMA-family folders need a method (post-training ternarisation or Fairy2i).
Status check_weight_reading(const std::string& dir, const format::HfConfig& config, const std::string& hf_class,
                            bool bitnet_quant, size_t fairy2i_stages, PostTrainingMethod post_training) {
    const bool llama_family = hf_class == "LlamaForCausalLM" || hf_class == "MistralForCausalLM";
    if (post_training != PostTrainingMethod::kNone) {
        if (!llama_family || bitnet_quant || fairy2i_stages != 0)
            return Error(str_cat(dir, ": --method ", post_training_name(post_training),
                                 " ternarises float LlamaForCausalLM / MistralForCausalLM weights; this folder is '",
                                 hf_class, "'", bitnet_quant ? " with ternary weights already" : "",
                                 fairy2i_stages != 0 ? " read as Fairy2i" : ""));
        if (config.attention_bias) return Error(str_cat(dir, ": config.json: attention_bias = true is not supported"));
    } else if (llama_family && !bitnet_quant && fairy2i_stages == 0) {
        return Error(str_cat(dir, ": ", hf_class, " without quantization_config.quant_method 'bitnet' or 'fairy2i' is a "
                                  "float model: tern convert --method absmean|threshold ternarises it post-training, "
                                  "--weights fairy2i-w1|fairy2i-w2 reads it as Fairy2i"));
    }
    return {};
}

}  // namespace

Result<std::vector<float>> read_hf_floats(const HfCheckpoint::TensorRef& t) {
    const std::optional<GgmlType> type = float_type(t.tensor->dtype);
    if (!type) return Error(str_cat("tensor '", t.tensor->name, "' has dtype ", safetensors_dtype_name(t.tensor->dtype),
                                    ", expected F32, F16 or BF16"));
    std::vector<float> values(t.tensor->n_elements);
    TERN_TRY(quant::dequantize(*type, t.data(), values));
    return values;
}

Result<Model> load_hf_model(const std::string& dir, const LoadOptions& options) {
    TERN_ASSIGN_OR_RETURN(HfCheckpoint opened, HfCheckpoint::open(dir));
    auto ckpt = std::make_shared<HfCheckpoint>(std::move(opened));
    const format::HfConfig& config = ckpt->config();
    if (config.architectures.empty()) return Error(str_cat(dir, ": config.json has no 'architectures'"));
    const std::string& hf_class = config.architectures.front();
    const Architecture* arch = find_hf_architecture(hf_class);
    if (hf_class == "Qwen2ForCausalLM")
        return Error(str_cat(dir, ": Qwen2ForCausalLM is not supported yet (its q, k and v projections have biases)"));
    if (arch == nullptr)
        return Error(str_cat(dir, ": architecture '", hf_class,
                             "' is not supported (BitNetForCausalLM, BitnetForCausalLM, LlamaForCausalLM, "
                             "MistralForCausalLM, ComplexNetLM, HGRNBitForCausalLM)"));
    const bool bitnet_quant = config.quantization && config.quantization->quant_method == "bitnet";
    const bool fairy2i_quant = config.quantization && config.quantization->quant_method == "fairy2i";
    const size_t fairy2i_stages = options.fairy2i_stages != 0 ? options.fairy2i_stages
                                  : fairy2i_quant             ? config.quantization->stages.value_or(2)
                                                              : 0;
    if (fairy2i_stages != 0) {
        if (hf_class != "LlamaForCausalLM")
            return Error(str_cat(dir, ": Fairy2i weights need a LlamaForCausalLM folder, this one is '", hf_class, "'"));
        arch = find_gguf_architecture("fairy2i");
    }
    TERN_TRY(check_weight_reading(dir, config, hf_class, bitnet_quant, fairy2i_stages, options.post_training));
    if (bitnet_quant && config.quantization->use_rms_norm)
        return Error(str_cat(dir, ": quantization_config.use_rms_norm = true is not supported"));
    if (arch->ffn_activation == FfnActivation::kRelu2 && !config.hidden_act.empty() && config.hidden_act != "relu2")
        return Error(str_cat(dir, ": hidden_act '", config.hidden_act, "' differs from this architecture's relu2"));
    const bool recurrent = arch->family == ModelFamily::kGatedRecurrent;
    Result<Hparams> hp = recurrent ? recurrent_hparams_from_config(config) : hparams_from_config(config);
    if (!hp.ok()) return hp.error().within(dir);
    TERN_TRY(check_head_conversion(recurrent, options.head, dir));

    std::vector<std::string> problems;
    for (const TensorSpec& spec : arch->tensors)
        for (size_t l = 0; l < (spec.per_layer ? hp.value().n_layer : 1); ++l) {
            if (!spec.hf_name_imag.empty())
                check_complex_parts(*ckpt, spec, hp.value(), l, problems);
            else
                check_tensor(*ckpt, spec, hp.value(), tensor_name(spec.hf_name, l), problems);
        }
    const bool lower_bounds = recurrent && config.use_lower_bound;
    if (lower_bounds && ckpt->find(tensor_spec(*arch, TensorRole::kLowerBounds).hf_name) == nullptr)
        problems.push_back(str_cat("missing '", tensor_spec(*arch, TensorRole::kLowerBounds).hf_name,
                                   "' (config.json: use_lower_bound is true)"));
    if (!problems.empty()) {
        std::string text;
        for (size_t i = 0; i < problems.size() && i < 12; ++i) text += (i ? "; " : "") + problems[i];
        if (problems.size() > 12) text += str_cat("; and ", problems.size() - 12, " more");
        return Error(str_cat(dir, ": does not match architecture '", hf_class, "' (", problems.size(), " problems): ", text));
    }

    Model model;
    model.arch = arch;
    model.hp = hp.value();
    model.rope = RopePairing::kNeox;   // HF weights are always in NEOX order
    model.source = dir;
    for (const auto& shard : ckpt->shards()) model.file_bytes += std::filesystem::file_size(shard->path());
    auto find = [&](std::string_view pattern, size_t layer) { return ckpt->find(tensor_name(pattern, layer)); };
    const TensorSpec& embd = tensor_spec(*arch, TensorRole::kTokenEmbd);
    TERN_ASSIGN_OR_RETURN(model.token_embd, float_matrix(*ckpt->find(embd.hf_name)));
    if (!embd.hf_name_imag.empty()) {
        TERN_ASSIGN_OR_RETURN(model.token_embd_imag, float_matrix(*ckpt->find(embd.hf_name_imag)));
    }
    TERN_ASSIGN_OR_RETURN(model.output_norm, read_norm(*ckpt, tensor_spec(*arch, TensorRole::kOutputNorm), 0));
    const HfCheckpoint::TensorRef* head = ckpt->find(tensor_spec(*arch, TensorRole::kOutput).hf_name);
    std::vector<RepackJob> jobs;
    if (model.widely_linear()) {
        model.float_activations = options.widely_linear_activations == WidelyLinearActivations::kFloat;
        const HfCheckpoint::TensorRef* source = head != nullptr ? head : ckpt->find(embd.hf_name);
        TERN_ASSIGN_OR_RETURN(model.output, float_matrix(*source));   // describes the source; never read
        model.tied_head = head == nullptr;
        jobs.push_back(widely_linear_job(*source, model.hp.n_vocab, model.hp.n_embd, fairy2i_stages,
                                         model.output_widely_linear));
    } else if (recurrent) {
        TERN_ASSIGN_OR_RETURN(model.output, float_matrix(*head));   // describes the source; never read
        jobs.push_back(ternarize_job(*head, model.hp.n_vocab, model.hp.n_embd, &quant::ternarize_absmean,
                                     model.output_ternary));
        TERN_ASSIGN_OR_RETURN(model.output_in_norm, read_norm(*ckpt, tensor_spec(*arch, TensorRole::kOutputInNorm), 0));
        if (lower_bounds) {
            TERN_ASSIGN_OR_RETURN(model.lower_bounds,
                                  read_norm(*ckpt, tensor_spec(*arch, TensorRole::kLowerBounds), 0));
        }
    } else if (head != nullptr && !config.tie_word_embeddings) {
        TERN_ASSIGN_OR_RETURN(model.output, float_matrix(*head));
    } else {
        model.tied_head = true;
        model.output = model.token_embd;
    }
    const bool scale_multiplies = bitnet_quant && config.quantization->linear_class == "autobitlinear";
    model.layers.resize(model.hp.n_layer);
    for (size_t l = 0; l < model.hp.n_layer; ++l) {
        LayerWeights& w = model.layers[l];
        for (const TensorSpec& spec : arch->tensors) {
            if (!spec.per_layer) continue;
            const HfCheckpoint::TensorRef* ref = find(spec.hf_name, l);
            if (std::vector<float>* norm = w.norm(spec.role)) {
                TERN_ASSIGN_OR_RETURN(*norm, read_norm(*ckpt, spec, l));
                continue;
            }
            if (options.keep_layer && !options.keep_layer(l, model.hp.n_layer)) continue;
            if (spec.kind == TensorKind::kComplex) {
                jobs.push_back(complex_job(*ckpt, spec, l, model.hp, *w.complex_projection(spec.role)));
                continue;
            }
            if (spec.kind == TensorKind::kWidelyLinear) {
                jobs.push_back(widely_linear_job(*ref, model.hp.dim(spec.ne1), model.hp.dim(spec.ne0), fairy2i_stages,
                                                 *w.widely_linear_projection(spec.role)));
                continue;
            }
            quant::PackedTernary* dest = w.projection(spec.role);
            const size_t rows = model.hp.dim(spec.ne1), cols = model.hp.dim(spec.ne0);
            if (recurrent || options.post_training != PostTrainingMethod::kNone) {
                const Ternarizer ternarize =
                    recurrent ? &quant::ternarize_absmean : post_training_ternarizer(options.post_training);
                jobs.push_back(ternarize_job(*ref, rows, cols, ternarize, *dest));
            } else {
                const bool packed = ref->tensor->dtype == SafetensorsDtype::kU8;
                jobs.push_back({.name = ref->tensor->name, .source_bytes = ref->data().size(),
                                .build = [ckpt = ckpt.get(), ref, rows, cols, packed, scale_multiplies] {
                                    return packed ? load_packed(*ckpt, *ref, rows, cols, scale_multiplies)
                                                  : load_float_ternary(*ref, rows, cols);
                                },
                                .dest = dest, .done = {}});
            }
            jobs.back().keep_rows = rows_to_keep(options, *arch, spec.role, model.hp, rows);
        }
    }
    const HfCheckpoint::TensorRef* q0 = find(tensor_spec(*arch, first_projection_role(*arch)).hf_name, 0);
    model.ternary_type = q0->tensor->dtype == SafetensorsDtype::kU8 ? "packed U8"
                         : model.complex() ? str_cat(safetensors_dtype_name(q0->tensor->dtype), " (PhaseQuant)")
                         : model.widely_linear()
                             ? str_cat(safetensors_dtype_name(q0->tensor->dtype), " (Fairy2i W", fairy2i_stages, ")")
                         : options.post_training != PostTrainingMethod::kNone
                             ? str_cat(safetensors_dtype_name(q0->tensor->dtype), " (", post_training_name(options.post_training),
                                       " post-training)")
                                           : str_cat(safetensors_dtype_name(q0->tensor->dtype), " (absmean)");
    if (Status s = run_repack_jobs(jobs, options); !s.ok()) return s.error().within(dir);
    model.storage = ckpt;
    if (const QuantizedHead to = head_conversion_target(model, options.head); to != QuantizedHead::kNone)
        TERN_TRY(convert_head(model, to, options.threads, rows_to_keep(options, *arch, TensorRole::kOutput, model.hp, model.output.rows)));
    return model;
}

}  // namespace tern::model
