// Writes a loaded model with {+-1, +-i} codes as tern's GGUF (docs/formats.md): `ifairy`
// (iFairy: each projection's PhaseQuant codes as TERN_C2 with its ".scale" (s_re, s_im), norms
// and the token embedding as [re | im] rows, the LM head in its own float type) or `fairy2i`
// (every projection and the head as TERN_C2 codes of U1, W1 (, U2, W2) stacked by rows with
// their scales; LLaMA's embedding and norms as they are), and the vocabulary.
// Loading the file back is a mapping plus a re-tiling: the model computes the same logits as
// the one it was written from, bit for bit.
#pragma once

#include <string_view>

#include "format/gguf_writer.h"
#include "model/model.h"
#include "tokenizer/vocabulary.h"

namespace tern::model {

// Errors: a model of another family, widths TERN_C2 rows cannot hold.
Result<format::GgufWriter> complex_model_gguf(const Model& model, const tokenizer::Vocabulary& vocab,
                                              std::string_view name);

}  // namespace tern::model
