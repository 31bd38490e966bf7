// Writes a loaded ternary transformer (BitNet b1.58, 1bitLLM bitnet, ternary Llama, or a float
// LLaMA ternarised post-training) as GGUF in the architecture's llama.cpp / bitnet.cpp names:
// projections as I2_S, TQ2_0 or TQ1_0 (codes and multipliers exactly; TQ blocks round the
// multiplier to fp16, counted in the result), the head and embedding in the chosen float type,
// norms as F32, the vocabulary and chat template. `llama` files get q and k rows in GGUF's
// interleaved rope order (what llama.cpp's converter does); the rest keep HF order.
#pragma once

#include <optional>
#include <string_view>

#include "format/ggml_types.h"
#include "format/gguf_writer.h"
#include "model/model.h"
#include "model/model_gguf_writer.h"
#include "tokenizer/vocabulary.h"

namespace tern::model {

// Errors: a model of another family, a type the shapes or multipliers do not allow (names the
// tensor), a head type tern does not write.
Result<ModelGguf> ternary_model_gguf(const Model& model, const tokenizer::Vocabulary& vocab, std::string_view name,
                                     const ModelFileTypes& types);

// The rows of a q or k projection in GGUF's interleaved rope order: row 2i + j of each head is
// HF row i + j * head_dim / 2 (j = 0, 1).
std::vector<size_t> interleaved_rope_rows(size_t heads, size_t head_dim);

}  // namespace tern::model
