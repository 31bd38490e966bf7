// Writes a loaded HGRN-Bit model as tern's `hgrn-bit` GGUF (docs/formats.md): every projection
// and the head as I2_S (the absmean codes and the tensor's multiplier, exactly), the norms,
// the lower bounds and the embedding as they are, and the vocabulary. Loading the file back
// gives the model it was written from, bit for bit.
#pragma once

#include <string_view>

#include "format/gguf_writer.h"
#include "model/model.h"
#include "tokenizer/vocabulary.h"

namespace tern::model {

// Errors: a model of another family, a projection I2_S cannot hold (rows whose length is not a
// multiple of 128).
Result<format::GgufWriter> recurrent_model_gguf(const Model& model, const tokenizer::Vocabulary& vocab,
                                                std::string_view name);

}  // namespace tern::model
