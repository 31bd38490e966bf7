// Model architectures as data: for each architecture, the tensors a model file must hold,
// their GGUF and Hugging Face names, their shapes in hyper-parameter units and what kind of
// storage each may use. Loaders check a file against its table; the forward pass reads the
// graph switches (FFN activation, sub-norms, rope pairing) from the same entry.
// Facts: ../shared/docs/architectures.md.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace tern::model {

enum class FfnActivation { kSilu, kRelu2 };

// How a family's layers compute; each family is one engine::LayerStack (engine/layer_stack.h).
//   kTernaryTransformer: real activations, ternary projections (BitNet, ternary Llama).
//   kComplexTransformer: complex activations kept as [re | im], projections y = W conj(x) with
//     W in {+1, -1, +i, -i} times a scale per axis (iFairy; complex-and-recurrent.md §2).
//   kWidelyLinearTransformer: the LLaMA graph on real activations, every linear layer (the head
//     too) widely-linear U x + W conj(x) with PhaseQuant-ed U and W (Fairy2i; §1).
//   kGatedRecurrent: no attention; a gated elementwise recurrence mixes tokens, and every
//     projection, the head included, is a BitLinear (an RMSNorm, int8 activations, absmean
//     ternary weights) (HGRN-Bit, the MatMul-free LM; §3).
enum class ModelFamily { kTernaryTransformer, kComplexTransformer, kWidelyLinearTransformer, kGatedRecurrent };
// kNeox pairs (x[i], x[i + d/2]); kNorm pairs (x[2i], x[2i + 1]) (GGUF `llama` files, whose
// converters permute the q/k rows so that NORM on them equals NEOX on the HF weights).
enum class RopePairing { kNeox, kNorm };

enum class TensorRole {
    kTokenEmbd, kOutputNorm, kOutput,
    kAttnNorm, kAttnQ, kAttnK, kAttnV, kAttnOutput, kAttnSubNorm,
    kFfnNorm, kFfnGate, kFfnUp, kFfnDown, kFfnSubNorm,
    // HGRN-Bit: the recurrence's input (i), forget (f), output-gate (g) and output (o)
    // projections, the norm of the output gate, the FFN's gate and up as one matrix, the
    // per-layer forget-gate lower bounds, and the RMSNorm weights every BitLinear applies to its
    // input ("...InNorm", one per projection, the head's too).
    kRecurrentInput, kRecurrentForget, kRecurrentGate, kRecurrentOutput, kRecurrentGateNorm, kFfnGateUp,
    kLowerBounds,
    kRecurrentInputInNorm, kRecurrentForgetInNorm, kRecurrentGateInNorm, kRecurrentOutputInNorm, kFfnGateUpInNorm,
    kFfnDownInNorm, kOutputInNorm,
};

// How a tensor is stored and used: ternary projection (any ternary type, or float weights that
// are ternary times one scale), big float matrix (embedding / head), a small float tensor read
// whole (a norm's weights; HGRN-Bit's lower bounds, one row per layer), or
// a complex {+-1, +-i} projection (PhaseQuant codes; HF: float weight_real + weight_imag
// master weights; GGUF: TERN_C2 codes plus a ".scale" F32 [2] tensor holding s_re, s_im).
// kWidelyLinear: a real matrix (HF: float master weights [2n, 2m]) used as Fairy2i's
// U x + W conj(x); GGUF: TERN_C2 codes [m, n * matrices] (U1, W1, U2, W2 stacked by rows)
// plus ".scale" F32 [2 * matrices] (s_re, s_im of each).
enum class TensorKind { kTernary, kFloatMatrix, kNormVector, kComplex, kWidelyLinear };

// Dimensions in hyper-parameter units.
// For complex models n_embd, n_ff and head_dim count complex values; kEmbd2 (2 * n_embd) is
// the real width of a [re | im] hidden state (iFairy's LM head reads it).
// kFf2 (2 * n_ff) is HGRN-Bit's gate and up stacked; kLayer the number of layers.
enum class Dim { kEmbd, kVocab, kFf, kQ /* n_head * head_dim */, kKv /* n_head_kv * head_dim */, kEmbd2, kFf2, kLayer, kNone };

struct TensorSpec {
    TensorRole role;
    std::string_view gguf_name;   // "blk.{}.attn_q.weight" for per-layer tensors
    std::string_view hf_name;     // "model.layers.{}.self_attn.q_proj.weight"
    TensorKind kind;
    Dim ne0;                      // row length (GGUF ne0; the last safetensors dimension)
    Dim ne1;                      // rows (kNone for vectors)
    bool per_layer;
    bool optional;                // may be absent (an untied head)
    // Complex float tensors (iFairy norms and embedding) held as two HF tensors: hf_name has
    // the real parts, this one the imaginary parts, each of the shape above; GGUF keeps one
    // tensor with both halves concatenated along ne0 ([re | im]). Empty for real tensors.
    std::string_view hf_name_imag = {};
};

struct Architecture {
    std::string_view name;                          // tern's name for the graph
    ModelFamily family;
    std::span<const std::string_view> gguf_names;   // general.architecture values
    std::span<const std::string_view> hf_classes;   // config.json architectures[0]
    FfnActivation ffn_activation;
    bool sub_norms;                                 // attn_sub_norm before o, ffn_sub_norm before down
    RopePairing gguf_rope;                          // pairing for GGUF files (HF files are always NEOX)
    std::span<const TensorSpec> tensors;
};

std::span<const Architecture> architectures();
// nullptr when no architecture uses this general.architecture / HF class name.
const Architecture* find_gguf_architecture(std::string_view gguf_arch);
const Architecture* find_hf_architecture(std::string_view hf_class);
// Every general.architecture value tern reads, for messages: "bitnet-b1.58, bitnet-25, ...".
std::string gguf_architecture_names();
const TensorSpec& tensor_spec(const Architecture& arch, TensorRole role);
bool has_role(const Architecture& arch, TensorRole role);
// The first per-layer projection of the table (attn_q, or HGRN-Bit's rec_i): the tensor whose
// storage type describes the model's.
TensorRole first_projection_role(const Architecture& arch);
// The name of a tensor in layer `layer` (ignored for global tensors): "blk.3.attn_q.weight".
std::string tensor_name(std::string_view pattern, size_t layer);
std::string_view dim_name(Dim dim);

}  // namespace tern::model
