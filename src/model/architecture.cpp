#include "model/architecture.h"

#include "core/check.h"
#include "core/str_cat.h"

namespace tern::model {
namespace {

using enum TensorRole;
using enum TensorKind;
using enum Dim;

// Global tensors, then one layer's. Shapes are (ne0, ne1) = (row length, rows).
#define TERN_GLOBAL_TENSORS(output_optional)                                                              \
    {.role = kTokenEmbd, .gguf_name = "token_embd.weight", .hf_name = "model.embed_tokens.weight",          \
     .kind = kFloatMatrix, .ne0 = kEmbd, .ne1 = kVocab, .per_layer = false, .optional = false},            \
    {.role = kOutputNorm, .gguf_name = "output_norm.weight", .hf_name = "model.norm.weight",                \
     .kind = kNormVector, .ne0 = kEmbd, .ne1 = kNone, .per_layer = false, .optional = false},              \
    {.role = kOutput, .gguf_name = "output.weight", .hf_name = "lm_head.weight",                           \
     .kind = kFloatMatrix, .ne0 = kEmbd, .ne1 = kVocab, .per_layer = false, .optional = output_optional}

#define TERN_LAYER_TENSOR(r, gguf, hf, k, d0, d1) \
    {.role = r, .gguf_name = "blk.{}." gguf, .hf_name = "model.layers.{}." hf, .kind = k, .ne0 = d0, .ne1 = d1, \
     .per_layer = true, .optional = false}

#define TERN_LLAMA_LAYER_TENSORS                                                                             \
    TERN_LAYER_TENSOR(kAttnNorm, "attn_norm.weight", "input_layernorm.weight", kNormVector, kEmbd, kNone),     \
    TERN_LAYER_TENSOR(kAttnQ, "attn_q.weight", "self_attn.q_proj.weight", kTernary, kEmbd, kQ),               \
    TERN_LAYER_TENSOR(kAttnK, "attn_k.weight", "self_attn.k_proj.weight", kTernary, kEmbd, kKv),              \
    TERN_LAYER_TENSOR(kAttnV, "attn_v.weight", "self_attn.v_proj.weight", kTernary, kEmbd, kKv),              \
    TERN_LAYER_TENSOR(kAttnOutput, "attn_output.weight", "self_attn.o_proj.weight", kTernary, kQ, kEmbd),     \
    TERN_LAYER_TENSOR(kFfnNorm, "ffn_norm.weight", "post_attention_layernorm.weight", kNormVector, kEmbd, kNone), \
    TERN_LAYER_TENSOR(kFfnGate, "ffn_gate.weight", "mlp.gate_proj.weight", kTernary, kEmbd, kFf),             \
    TERN_LAYER_TENSOR(kFfnUp, "ffn_up.weight", "mlp.up_proj.weight", kTernary, kEmbd, kFf),                   \
    TERN_LAYER_TENSOR(kFfnDown, "ffn_down.weight", "mlp.down_proj.weight", kTernary, kFf, kEmbd)

// BitNet b1.58 2B4T: ReLU^2, sub-norms, tied head (an old upload also has output.weight).
constexpr TensorSpec kBitnetB158Tensors[] = {
    TERN_GLOBAL_TENSORS(true),
    TERN_LLAMA_LAYER_TENSORS,
    TERN_LAYER_TENSOR(kAttnSubNorm, "attn_sub_norm.weight", "self_attn.attn_sub_norm.weight", kNormVector, kQ, kNone),
    TERN_LAYER_TENSOR(kFfnSubNorm, "ffn_sub_norm.weight", "mlp.ffn_sub_norm.weight", kNormVector, kFf, kNone),
};

// 1bitLLM bitnet_b1_58: SiLU, sub-norms under other HF names.
constexpr TensorSpec kBitnet1bitLlmTensors[] = {
    TERN_GLOBAL_TENSORS(true),
    TERN_LLAMA_LAYER_TENSORS,
    TERN_LAYER_TENSOR(kAttnSubNorm, "attn_sub_norm.weight", "self_attn.inner_attn_ln.weight", kNormVector, kQ, kNone),
    TERN_LAYER_TENSOR(kFfnSubNorm, "ffn_sub_norm.weight", "mlp.ffn_layernorm.weight", kNormVector, kFf, kNone),
};

// Ternary Llama (Llama3-8B-1.58, Falcon-E, Falcon3-1.58bit): the plain llama graph.
constexpr TensorSpec kLlamaTensors[] = {
    TERN_GLOBAL_TENSORS(true),
    TERN_LLAMA_LAYER_TENSORS,
};

// iFairy (Fairy+-i, HF ComplexNetLM): complex everything but the LM head, which reads
// [re | im] (complex-and-recurrent.md §2.1). HF names have no "model." prefix.
#define TERN_COMPLEX_NORM(r, gguf, hf)                                                                      \
    {.role = r, .gguf_name = "blk.{}." gguf, .hf_name = "layer.{}." hf ".weight_real", .kind = kNormVector,   \
     .ne0 = r == kFfnSubNorm ? kFf : kEmbd, .ne1 = kNone, .per_layer = true, .optional = false,              \
     .hf_name_imag = "layer.{}." hf ".weight_imag"}
#define TERN_COMPLEX_PROJECTION(r, gguf, hf, d0, d1)                                                        \
    {.role = r, .gguf_name = "blk.{}." gguf, .hf_name = "layer.{}." hf ".weight_real", .kind = kComplex,      \
     .ne0 = d0, .ne1 = d1, .per_layer = true, .optional = false, .hf_name_imag = "layer.{}." hf ".weight_imag"}
constexpr TensorSpec kIfairyTensors[] = {
    {.role = kTokenEmbd, .gguf_name = "token_embd.weight", .hf_name = "token_embeddings_real.weight",
     .kind = kFloatMatrix, .ne0 = kEmbd, .ne1 = kVocab, .per_layer = false, .optional = false,
     .hf_name_imag = "token_embeddings_imag.weight"},
    {.role = kOutputNorm, .gguf_name = "output_norm.weight", .hf_name = "final_norm.weight_real",
     .kind = kNormVector, .ne0 = kEmbd, .ne1 = kNone, .per_layer = false, .optional = false,
     .hf_name_imag = "final_norm.weight_imag"},
    {.role = kOutput, .gguf_name = "output.weight", .hf_name = "lm_head.weight",
     .kind = kFloatMatrix, .ne0 = kEmbd2, .ne1 = kVocab, .per_layer = false, .optional = false},
    TERN_COMPLEX_NORM(kAttnNorm, "attn_norm.weight", "pre_layernorm"),
    TERN_COMPLEX_PROJECTION(kAttnQ, "attn_q.weight", "self_attn.q_proj", kEmbd, kQ),
    TERN_COMPLEX_PROJECTION(kAttnK, "attn_k.weight", "self_attn.k_proj", kEmbd, kKv),
    TERN_COMPLEX_PROJECTION(kAttnV, "attn_v.weight", "self_attn.v_proj", kEmbd, kKv),
    TERN_COMPLEX_NORM(kAttnSubNorm, "attn_sub_norm.weight", "self_attn.attn_layernorm"),
    TERN_COMPLEX_PROJECTION(kAttnOutput, "attn_output.weight", "self_attn.o_proj", kQ, kEmbd),
    TERN_COMPLEX_NORM(kFfnNorm, "ffn_norm.weight", "post_layernorm"),
    TERN_COMPLEX_PROJECTION(kFfnGate, "ffn_gate.weight", "mlp.gate_proj", kEmbd, kFf),
    TERN_COMPLEX_PROJECTION(kFfnUp, "ffn_up.weight", "mlp.up_proj", kEmbd, kFf),
    TERN_COMPLEX_NORM(kFfnSubNorm, "ffn_sub_norm.weight", "mlp.ffn_layernorm"),
    TERN_COMPLEX_PROJECTION(kFfnDown, "ffn_down.weight", "mlp.down_proj", kFf, kEmbd),
};
// Fairy2i: LLaMA-2's tensors with every linear layer, the head included, widely-linear.
#define TERN_WL_LAYER_TENSOR(r, gguf, hf, d0, d1) \
    {.role = r, .gguf_name = "blk.{}." gguf, .hf_name = "model.layers.{}." hf, .kind = kWidelyLinear, .ne0 = d0, \
     .ne1 = d1, .per_layer = true, .optional = false}
constexpr TensorSpec kFairy2iTensors[] = {
    {.role = kTokenEmbd, .gguf_name = "token_embd.weight", .hf_name = "model.embed_tokens.weight",
     .kind = kFloatMatrix, .ne0 = kEmbd, .ne1 = kVocab, .per_layer = false, .optional = false},
    {.role = kOutputNorm, .gguf_name = "output_norm.weight", .hf_name = "model.norm.weight",
     .kind = kNormVector, .ne0 = kEmbd, .ne1 = kNone, .per_layer = false, .optional = false},
    {.role = kOutput, .gguf_name = "output.weight", .hf_name = "lm_head.weight",
     .kind = kWidelyLinear, .ne0 = kEmbd, .ne1 = kVocab, .per_layer = false, .optional = false},
    TERN_LAYER_TENSOR(kAttnNorm, "attn_norm.weight", "input_layernorm.weight", kNormVector, kEmbd, kNone),
    TERN_WL_LAYER_TENSOR(kAttnQ, "attn_q.weight", "self_attn.q_proj.weight", kEmbd, kQ),
    TERN_WL_LAYER_TENSOR(kAttnK, "attn_k.weight", "self_attn.k_proj.weight", kEmbd, kKv),
    TERN_WL_LAYER_TENSOR(kAttnV, "attn_v.weight", "self_attn.v_proj.weight", kEmbd, kKv),
    TERN_WL_LAYER_TENSOR(kAttnOutput, "attn_output.weight", "self_attn.o_proj.weight", kQ, kEmbd),
    TERN_LAYER_TENSOR(kFfnNorm, "ffn_norm.weight", "post_attention_layernorm.weight", kNormVector, kEmbd, kNone),
    TERN_WL_LAYER_TENSOR(kFfnGate, "ffn_gate.weight", "mlp.gate_proj.weight", kEmbd, kFf),
    TERN_WL_LAYER_TENSOR(kFfnUp, "ffn_up.weight", "mlp.up_proj.weight", kEmbd, kFf),
    TERN_WL_LAYER_TENSOR(kFfnDown, "ffn_down.weight", "mlp.down_proj.weight", kFf, kEmbd),
};
#undef TERN_WL_LAYER_TENSOR

// HGRN-Bit (ridgerchu/matmulfreellm HGRNBitForCausalLM; complex-and-recurrent.md §3): every
// projection with the RMSNorm its BitLinear applies first; the head is ternary too. GGUF names
// are tern's (no upstream converter exists).
#define TERN_BITLINEAR(r, in_norm, gguf, hf, d0, d1)                                                         \
    TERN_LAYER_TENSOR(r, gguf ".weight", hf ".weight", kTernary, d0, d1),                                    \
    TERN_LAYER_TENSOR(in_norm, gguf "_in_norm.weight", hf ".norm.weight", kNormVector, d0, kNone)
constexpr TensorSpec kHgrnBitTensors[] = {
    {.role = kTokenEmbd, .gguf_name = "token_embd.weight", .hf_name = "model.embeddings.weight",
     .kind = kFloatMatrix, .ne0 = kEmbd, .ne1 = kVocab, .per_layer = false, .optional = false},
    // Optional here: required when config.json's use_lower_bound is true (hf_model_loader).
    {.role = kLowerBounds, .gguf_name = "lower_bounds.weight", .hf_name = "model.lower_bounds",
     .kind = kNormVector, .ne0 = kEmbd, .ne1 = kLayer, .per_layer = false, .optional = true},
    {.role = kOutputNorm, .gguf_name = "output_norm.weight", .hf_name = "model.norm.weight",
     .kind = kNormVector, .ne0 = kEmbd, .ne1 = kNone, .per_layer = false, .optional = false},
    {.role = kOutput, .gguf_name = "output.weight", .hf_name = "lm_head.weight",
     .kind = kTernary, .ne0 = kEmbd, .ne1 = kVocab, .per_layer = false, .optional = false},
    {.role = kOutputInNorm, .gguf_name = "output_in_norm.weight", .hf_name = "lm_head.norm.weight",
     .kind = kNormVector, .ne0 = kEmbd, .ne1 = kNone, .per_layer = false, .optional = false},
    TERN_LAYER_TENSOR(kAttnNorm, "attn_norm.weight", "attn_norm.weight", kNormVector, kEmbd, kNone),
    TERN_BITLINEAR(kRecurrentInput, kRecurrentInputInNorm, "rec_i", "attn.i_proj", kEmbd, kEmbd),
    TERN_BITLINEAR(kRecurrentForget, kRecurrentForgetInNorm, "rec_f", "attn.f_proj", kEmbd, kEmbd),
    TERN_BITLINEAR(kRecurrentGate, kRecurrentGateInNorm, "rec_g", "attn.g_proj", kEmbd, kEmbd),
    TERN_LAYER_TENSOR(kRecurrentGateNorm, "rec_g_norm.weight", "attn.g_norm.weight", kNormVector, kEmbd, kNone),
    TERN_BITLINEAR(kRecurrentOutput, kRecurrentOutputInNorm, "rec_o", "attn.o_proj", kEmbd, kEmbd),
    TERN_LAYER_TENSOR(kFfnNorm, "ffn_norm.weight", "mlp_norm.weight", kNormVector, kEmbd, kNone),
    TERN_BITLINEAR(kFfnGateUp, kFfnGateUpInNorm, "ffn_gate_up", "mlp.gate_proj", kEmbd, kFf2),
    TERN_BITLINEAR(kFfnDown, kFfnDownInNorm, "ffn_down", "mlp.down_proj", kFf, kEmbd),
};
#undef TERN_BITLINEAR
#undef TERN_COMPLEX_NORM
#undef TERN_COMPLEX_PROJECTION

#undef TERN_GLOBAL_TENSORS
#undef TERN_LAYER_TENSOR
#undef TERN_LLAMA_LAYER_TENSORS

constexpr std::string_view kBitnetB158Gguf[] = {"bitnet-b1.58", "bitnet-25"};
constexpr std::string_view kBitnetB158Hf[] = {"BitNetForCausalLM"};
constexpr std::string_view kBitnetGguf[] = {"bitnet"};
constexpr std::string_view kBitnetHf[] = {"BitnetForCausalLM"};
constexpr std::string_view kLlamaGguf[] = {"llama"};
constexpr std::string_view kLlamaHf[] = {"LlamaForCausalLM", "MistralForCausalLM"};
constexpr std::string_view kIfairyGguf[] = {"ifairy"};
constexpr std::string_view kIfairyHf[] = {"ComplexNetLM"};
constexpr std::string_view kFairy2iGguf[] = {"fairy2i"};
constexpr std::string_view kHgrnBitGguf[] = {"hgrn-bit"};
constexpr std::string_view kHgrnBitHf[] = {"HGRNBitForCausalLM"};

constexpr Architecture kArchitectures[] = {
    {.name = "bitnet-b1.58", .family = ModelFamily::kTernaryTransformer, .gguf_names = kBitnetB158Gguf, .hf_classes = kBitnetB158Hf,
     .ffn_activation = FfnActivation::kRelu2, .sub_norms = true, .gguf_rope = RopePairing::kNeox,
     .tensors = kBitnetB158Tensors},
    {.name = "bitnet", .family = ModelFamily::kTernaryTransformer, .gguf_names = kBitnetGguf, .hf_classes = kBitnetHf,
     .ffn_activation = FfnActivation::kSilu, .sub_norms = true, .gguf_rope = RopePairing::kNeox,
     .tensors = kBitnet1bitLlmTensors},
    {.name = "llama", .family = ModelFamily::kTernaryTransformer, .gguf_names = kLlamaGguf, .hf_classes = kLlamaHf,
     .ffn_activation = FfnActivation::kSilu, .sub_norms = false, .gguf_rope = RopePairing::kNorm,
     .tensors = kLlamaTensors},
    // ReLU^2 here is iFairy's complex one (both parts zero where both are negative); rope pairs
    // each complex dimension's re and im, which the [re | im] head layout makes NEOX pairs.
    {.name = "ifairy", .family = ModelFamily::kComplexTransformer, .gguf_names = kIfairyGguf, .hf_classes = kIfairyHf,
     .ffn_activation = FfnActivation::kRelu2, .sub_norms = true, .gguf_rope = RopePairing::kNeox,
     .tensors = kIfairyTensors},
    // tern writes Fairy2i GGUF files from HF weights, so they keep the HF (NEOX) rope order.
    {.name = "fairy2i", .family = ModelFamily::kWidelyLinearTransformer, .gguf_names = kFairy2iGguf,
     // No HF class of its own: LlamaForCausalLM folders become Fairy2i by their
     // quantization_config or by --weights (hf_model_loader).
     .hf_classes = {}, .ffn_activation = FfnActivation::kSilu, .sub_norms = false,
     .gguf_rope = RopePairing::kNeox, .tensors = kFairy2iTensors},
    // No rope, no attention: gguf_rope is never read. The FFN is SwiGLU.
    {.name = "hgrn-bit", .family = ModelFamily::kGatedRecurrent, .gguf_names = kHgrnBitGguf, .hf_classes = kHgrnBitHf,
     .ffn_activation = FfnActivation::kSilu, .sub_norms = false, .gguf_rope = RopePairing::kNeox,
     .tensors = kHgrnBitTensors},
};

template <class Names>
bool contains(const Names& names, std::string_view name) {
    for (std::string_view n : names)
        if (n == name) return true;
    return false;
}

}  // namespace

std::span<const Architecture> architectures() { return kArchitectures; }

const Architecture* find_gguf_architecture(std::string_view gguf_arch) {
    for (const Architecture& arch : kArchitectures)
        if (contains(arch.gguf_names, gguf_arch)) return &arch;
    return nullptr;
}

std::string gguf_architecture_names() {
    std::string names;
    for (const Architecture& arch : kArchitectures)
        for (std::string_view n : arch.gguf_names) names += str_cat(names.empty() ? "" : ", ", n);
    return names;
}

const Architecture* find_hf_architecture(std::string_view hf_class) {
    for (const Architecture& arch : kArchitectures)
        if (contains(arch.hf_classes, hf_class)) return &arch;
    return nullptr;
}

bool has_role(const Architecture& arch, TensorRole role) {
    for (const TensorSpec& spec : arch.tensors)
        if (spec.role == role) return true;
    return false;
}

TensorRole first_projection_role(const Architecture& arch) {
    for (const TensorSpec& spec : arch.tensors)
        if (spec.per_layer && spec.kind != TensorKind::kNormVector) return spec.role;
    TERN_CHECK(false && "every architecture has projections");
    __builtin_unreachable();
}

const TensorSpec& tensor_spec(const Architecture& arch, TensorRole role) {
    for (const TensorSpec& spec : arch.tensors)
        if (spec.role == role) return spec;
    TERN_CHECK(false && "role not in the architecture's table");
    __builtin_unreachable();
}

std::string tensor_name(std::string_view pattern, size_t layer) {
    std::string name(pattern);
    if (size_t at = name.find("{}"); at != std::string::npos) name.replace(at, 2, std::to_string(layer));
    return name;
}

std::string_view dim_name(Dim dim) {
    switch (dim) {
        case Dim::kEmbd: return "n_embd";
        case Dim::kVocab: return "n_vocab";
        case Dim::kFf: return "n_ff";
        case Dim::kQ: return "n_head*head_dim";
        case Dim::kKv: return "n_head_kv*head_dim";
        case Dim::kEmbd2: return "2*n_embd";
        case Dim::kFf2: return "2*n_ff";
        case Dim::kLayer: return "n_layer";
        case Dim::kNone: return "1";
    }
    return "?";
}

}  // namespace tern::model
