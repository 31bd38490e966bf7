// A loaded model: hyper-parameters, the architecture entry that drives the graph, ternary
// projections repacked into tern's kernel layout, and the big float matrices (embedding,
// head) left where the file mapping has them whenever a kernel reads their type directly.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/ggml_types.h"
#include "model/architecture.h"
#include "model/hparams.h"
#include "quant/packed_complex.h"
#include "quant/packed_ternary.h"
#include "quant/widely_linear.h"
#include "quant/paired_head_rows.h"
#include "quant/q6_k_head_rows.h"
#include "tern/status.h"

namespace tern::model {

// rows x cols matrix for the embedding / head: F32/F16/BF16/Q8_0 rows read in place
// (memory-mapped), any other decodable type widened to F32 at load. A Q8_0 head (from the
// file, or --head q8_0) is used through Model::output_q8 instead.
struct FloatMatrix {
    const std::byte* data = nullptr;
    format::GgmlType type = format::GgmlType::kF32;
    size_t rows = 0;
    size_t cols = 0;
    size_t row_bytes = 0;
    std::vector<float> owned;   // backing store when widened to F32 at load

    const std::byte* row(size_t r) const { return data + r * row_bytes; }
    size_t bytes() const { return rows * row_bytes; }
};

// One complex {+-1, +-i} projection per role (ModelFamily::kComplexTransformer).
struct ComplexProjections {
    quant::PackedComplex q, k, v, o, gate, up, down;
};

// One widely-linear projection per role (ModelFamily::kWidelyLinearTransformer).
struct WidelyLinearProjections {
    quant::PackedWidelyLinear q, k, v, o, gate, up, down;
};

// One HGRN-Bit layer's BitLinears (ModelFamily::kGatedRecurrent): each projection and the
// RMSNorm weights it applies to its input first. The layer's own norms (attn_norm, ffn_norm)
// and its down projection live in LayerWeights' shared fields.
struct RecurrentWeights {
    quant::PackedTernary input, forget, gate, output, gate_up;
    std::vector<float> input_in_norm, forget_in_norm, gate_in_norm, output_in_norm, gate_up_in_norm, down_in_norm;
    std::vector<float> gate_norm;   // RMSNorm of g before it gates silu(h)
};

struct LayerWeights {
    // Sub-norms empty when absent. Complex models keep each norm's weights as [re | im].
    std::vector<float> attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm;
    quant::PackedTernary q, k, v, o, gate, up, down;   // kTernaryTransformer
    ComplexProjections complex;                        // kComplexTransformer
    WidelyLinearProjections widely_linear;             // kWidelyLinearTransformer
    RecurrentWeights recurrent;                        // kGatedRecurrent (with ffn_norm, attn_norm, down)

    // The field that holds a per-layer tensor of this role; nullptr for roles of the other kind.
    std::vector<float>* norm(TensorRole role);
    quant::PackedTernary* projection(TensorRole role);
    const quant::PackedTernary* projection(TensorRole role) const { return const_cast<LayerWeights*>(this)->projection(role); }
    quant::PackedComplex* complex_projection(TensorRole role);
    const std::vector<float>* norm(TensorRole role) const { return const_cast<LayerWeights*>(this)->norm(role); }
    const quant::PackedComplex* complex_projection(TensorRole role) const {
        return const_cast<LayerWeights*>(this)->complex_projection(role);
    }
    quant::PackedWidelyLinear* widely_linear_projection(TensorRole role);
    const quant::PackedWidelyLinear* widely_linear_projection(TensorRole role) const {
        return const_cast<LayerWeights*>(this)->widely_linear_projection(role);
    }
};

// What becomes of a real-valued LM head at load (a Q8_0 head in the file is repacked for the
// Q8_0 kernels unless kQ4_0 is asked for). kAuto converts a 16- or 32-bit head of
// kAutoQ8HeadMinBytes or more to Q8_0: such a head is most of the bytes a token reads (55 % for
// BitNet 2B4T's F16 head), and Q8_0 measured no visible perplexity cost (docs/performance.md); a
// smaller head stays in the caches, where converting it would change the numbers and gain
// nothing. kQ4_0 and kQ6_K (opt-in) cut the head's bytes further at measured perplexity costs.
// A Q6_K head in the file is used as stored unless kQ8_0 or kQ4_0 is asked for.
enum class HeadConversion { kKeep, kQ8_0, kQ4_0, kQ6_K, kAuto };
// The head's form when the engine computes it from block-quantised rows.
enum class QuantizedHead { kNone, kQ8_0, kQ4_0, kQ6_K };
inline constexpr size_t kAutoQ8HeadMinBytes = size_t{32} << 20;

struct Model {
    const Architecture* arch = nullptr;
    Hparams hp;
    RopePairing rope = RopePairing::kNeox;
    FloatMatrix token_embd;    // complex models: [re | im] rows, or the real parts alone when
    FloatMatrix token_embd_imag;   // these imaginary parts are a tensor of their own (HF files)
    FloatMatrix output;        // a copy of token_embd's view when the head is tied
    // The head in the Q8_0, Q4_0 or Q6_K kernel's layout (quantized_head says which; the file's
    // Q8_0 or Q6_K, --head auto|q8_0|q4_0|q6_k); `output` then only describes where it came from
    // and is never read by the engine. Under --split a rank converts only the rows it computes:
    // rows [quantized_head_first_row, + quantized_head_rows()) of the head, possibly none.
    quant::PairedQ8Rows output_q8;
    quant::PairedQ4Rows output_q4;
    quant::Q6KRows output_q6_k;
    size_t quantized_head_first_row = 0;
    QuantizedHead quantized_head = QuantizedHead::kNone;
    // Fairy2i: the head is widely-linear too (then `output` is not read), and the activations
    // its projections see: exact int8 sums, or the reference's own float activations.
    quant::PackedWidelyLinear output_widely_linear;
    // HGRN-Bit: the head is a BitLinear (then `output` is not read): its input norm and ternary
    // weights; and the forget-gate lower bounds, [n_layer][n_embd] as in the file (empty when
    // the model does not use them).
    quant::PackedTernary output_ternary;
    std::vector<float> output_in_norm;
    std::vector<float> lower_bounds;
    bool float_activations = false;
    bool tied_head = false;
    std::vector<float> output_norm;
    std::vector<LayerWeights> layers;
    std::string source;        // path or description, for messages
    std::string ternary_type;  // storage type of the projections in the file ("I2_S", ...)
    size_t file_bytes = 0;
    std::shared_ptr<const void> storage;   // keeps mapped / in-memory file bytes alive

    bool q8_head() const { return quantized_head == QuantizedHead::kQ8_0; }
    bool q4_head() const { return quantized_head == QuantizedHead::kQ4_0; }
    bool q6_k_head() const { return quantized_head == QuantizedHead::kQ6_K; }
    bool complex() const { return arch->family == ModelFamily::kComplexTransformer; }
    bool widely_linear() const { return arch->family == ModelFamily::kWidelyLinearTransformer; }
    bool recurrent() const { return arch->family == ModelFamily::kGatedRecurrent; }
    // The head is computed by the family (widely-linear or ternary), not from `output`.
    bool family_head() const { return widely_linear() || recurrent(); }
    // Whether the loaders convert this model's head (as read from the file) to Q8_0, Q4_0 or Q6_K.
    bool head_becomes_q8_0(HeadConversion conversion) const;
    bool head_becomes_q4_0(HeadConversion conversion) const;
    bool head_becomes_q6_k(HeadConversion conversion) const;
    // Rows of the quantised head this process holds (0 when the head is not quantised).
    size_t quantized_head_rows() const {
        return q8_head() ? output_q8.rows : q4_head() ? output_q4.rows : q6_k_head() ? output_q6_k.rows : 0;
    }
    // Floats per token of the hidden state: n_embd, or 2 * n_embd for [re | im].
    size_t hidden_width() const { return complex() ? 2 * hp.n_embd : hp.n_embd; }
    // Bytes one decode step streams: every ternary projection plus the head.
    size_t decode_weight_bytes() const;
    size_t projection_weight_bytes() const;   // the layers' projections
    size_t head_weight_bytes() const;         // the output head as decode reads it
};

// Rows [begin, end) of a matrix; under --split, the rows of a projection or of the head that a
// rank keeps.
struct RowRange {
    size_t begin = 0;
    size_t end = 0;
};

// Builds model.output_q8 (to = kQ8_0), output_q4 (kQ4_0) or output_q6_k (kQ6_K) from
// model.output's rows `rows` (all of them when absent): rows already of that type are taken as
// they are, any other type is quantised like llama.cpp's quantize_row_q8_0 / q4_0 / q6_K_ref.
// The token embedding keeps its own type. Rows are converted on `threads` threads. Errors: a row
// length that is not a multiple of the block (32; 256 for Q6_K); `rows` beyond the head or not
// starting at an even row.
Status convert_head(Model& model, QuantizedHead to, int threads, std::optional<RowRange> rows = std::nullopt);
// The conversion the loaders make, if any, given the options' HeadConversion.
QuantizedHead head_conversion_target(const Model& model, HeadConversion conversion);
// An HGRN-Bit head is ternary: asking to convert it (--head q8_0|q4_0|q6_k) is an error naming `source`.
Status check_head_conversion(bool recurrent, HeadConversion conversion, std::string_view source);
// The --head value that asks for `conversion` ("keep", "q8_0", "q4_0", "q6_k", "auto").
std::string_view head_conversion_name(HeadConversion conversion);

// Called as tensors are repacked: bytes of ternary tensors done so far and in all.
using LoadProgress = std::function<void(size_t done_bytes, size_t total_bytes)>;

// Fairy2i activation paths (kernels/widely_linear_matmul.h).
enum class WidelyLinearActivations { kInt8, kFloat };

// How float weights of a LLaMA-family model become ternary (tern convert --method;
// docs/quantization.md): kNone reads only checkpoints that are ternary already.
//   kAbsmean:   BitNet's rule, T = clamp(round(W / mean|W|), -1, 1), multiplier mean|W|.
//   kThreshold: T = sign(W) where |W| > 0.5 mean|W|, else 0; multiplier the mean |W| of the
//               kept weights (the least-squares scale for that pattern).
enum class PostTrainingMethod { kNone, kAbsmean, kThreshold };

struct LoadOptions {
    quant::TernaryLayout layout = quant::TernaryLayout::kCodes;   // what the chosen kernels read
    HeadConversion head = HeadConversion::kKeep;
    int threads = 1;                                              // for repacking
    LoadProgress progress;
    // Read a plain LlamaForCausalLM folder as Fairy2i with this many PhaseQuant stages (1: W1,
    // 2: W2); 0: only when its quantization_config says fairy2i.
    size_t fairy2i_stages = 0;
    WidelyLinearActivations widely_linear_activations = WidelyLinearActivations::kInt8;
    PostTrainingMethod post_training = PostTrainingMethod::kNone;
    // A pipeline rank (--split layers) repacks only the projections of the layers this keeps,
    // given (layer, n_layer); the others stay empty, never read from the file. Empty: all.
    std::function<bool(size_t layer, size_t n_layer)> keep_layer = {};
    // A rank of a split keeps only these rows of each ternary projection (by role) and of a
    // Q8_0 head (kOutput), given the model's hyper-parameters: the others are never kept, so a
    // rank's peak at load is its share plus the tensors being repacked. Empty: all rows.
    std::function<RowRange(TensorRole role, const Hparams& hp)> keep_rows = {};
};

}  // namespace tern::model
