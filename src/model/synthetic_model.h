// Random ternary models of the real shapes (BitNet b1.58 2B4T, 1bitLLM large / 3B, Llama3-8B),
// written as GGUF with the architecture names and metadata the upstream converters use, so
// that anyone can measure speed without downloading a model (`tern synth`,
// `tern bench --synthetic`), and tests get small models with known weights.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "format/ggml_types.h"
#include "format/gguf_writer.h"
#include "model/hparams.h"
#include "tern/status.h"

namespace tern::model {

struct SyntheticShape {
    std::string_view name;       // "2b4t", "large", "3b", "8b", "tiny"
    std::string_view gguf_arch;  // general.architecture written
    Hparams hp;
};

std::span<const SyntheticShape> synthetic_shapes();
const SyntheticShape* find_synthetic_shape(std::string_view name);
std::string synthetic_shape_names();   // "2b4t, large, ..." for messages

struct SyntheticOptions {
    format::GgmlType ternary_type = format::GgmlType::kI2_S;   // I2_S, TQ2_0 or TQ1_0
    format::GgmlType embd_type = format::GgmlType::kF16;        // any type tern can quantise
    bool untied_head = false;                                   // also write output.weight
    uint64_t seed = 1;
    int threads = 1;   // generate the big tensors on this many threads (same bytes for any count)
    // general.architecture to write instead of the shape's own, e.g. "bitnet" for the 2B4T shape,
    // which is how llama.cpp's converter names BitNet 2B4T. The tensors follow that
    // architecture's table; empty: the shape's.
    std::string_view gguf_arch = {};
};

// The general.architecture that synthetic_gguf writes for these options.
std::string_view synthetic_gguf_architecture(const SyntheticShape& shape, const SyntheticOptions& options);

// The big tensors are generated when the writer writes (see GgufWriter's TensorFiller), so the
// model is held in memory once. Errors: a ternary type other than I2_S/TQ2_0/TQ1_0, an
// embedding type tern cannot write, an unknown architecture name, or a shape whose rows are not
// a multiple of the block.
Result<format::GgufWriter> synthetic_gguf(const SyntheticShape& shape, const SyntheticOptions& options);

}  // namespace tern::model
