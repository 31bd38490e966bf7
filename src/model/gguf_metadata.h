// GGUF metadata tern writes, in the keys llama.cpp-family loaders read: an architecture's
// hyper-parameters ([arch].*) and a tokenizer's vocabulary (tokenizer.ggml.*).
#pragma once

#include <string_view>

#include "format/gguf_writer.h"
#include "model/hparams.h"
#include "tokenizer/vocabulary.h"

namespace tern::model {

void write_hparams_metadata(format::GgufWriter& w, std::string_view gguf_arch, std::string_view name, const Hparams& hp);

// Everything vocabulary_from_gguf reads back into an equal Vocabulary.
void write_vocabulary_metadata(format::GgufWriter& w, const tokenizer::Vocabulary& vocab);

}  // namespace tern::model
