// A slow, obviously-correct forward pass straight from a GGUF's tensors, independent of the
// engine's loader, kernels and layer code: every weight dequantised to float, BitNet's
// per-token int8 activation quantisation written out again, all sums in double, and GGUF
// `llama` files handled by undoing the q/k row permutation and using NEOX rope (the engine
// uses NORM pairing on the permuted rows instead).
#pragma once

#include <cstdint>
#include <vector>

#include "format/gguf_reader.h"

namespace tern::testing {

// Logits [tokens.size()][n_vocab] for a sequence starting at position 0.
std::vector<float> reference_logits(const format::GgufContents& gguf, const std::vector<int32_t>& tokens);

}  // namespace tern::testing
