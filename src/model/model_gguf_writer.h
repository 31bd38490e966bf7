// Any loaded model written back as a GGUF file tern (and, for the types they know, llama.cpp
// and bitnet.cpp) reads: the writer of its family (ternary_gguf_writer, complex_gguf_writer,
// recurrent_gguf_writer), with the storage types the caller chose where the family has a choice.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "format/ggml_types.h"
#include "format/gguf_writer.h"
#include "model/model.h"
#include "tokenizer/vocabulary.h"

namespace tern::model {

struct ModelFileTypes {
    // Ternary transformers: I2_S (default), TQ2_0 or TQ1_0. HGRN-Bit: I2_S only. Complex
    // families: always TERN_C2, so none may be asked for.
    std::optional<format::GgmlType> projections;
    // Ternary transformers: F32, F16, BF16 or Q8_0 for the head, and for the embedding when the
    // head is tied; nullopt keeps the source's. Other families' heads are not float matrices.
    std::optional<format::GgmlType> head;
};

struct ModelGguf {
    format::GgufWriter writer;        // reads the model's memory when written: keep it alive
    size_t rounded_multipliers = 0;   // rows whose multiplier the TQ fp16 block scales round
    std::string description;          // "I2_S projections, tied Q8_0 head"
};

// Errors: a type the family cannot hold, or that a tensor's shape or multipliers do not allow.
Result<ModelGguf> model_gguf(const Model& model, const tokenizer::Vocabulary& vocab, std::string_view name,
                             const ModelFileTypes& types);

}  // namespace tern::model
