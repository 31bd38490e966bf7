// A loaded model's tensors written back as GGUF tensors, shared by the writers of each family
// (complex_gguf_writer, recurrent_gguf_writer): float vectors and tables, float matrices in
// their own type, ternary matrices as I2_S.
#pragma once

#include <string>
#include <vector>

#include "format/gguf_writer.h"
#include "model/model.h"
#include "quant/packed_ternary.h"

namespace tern::model {

// F32 values; dims (ne0, ne1, ...) default to one dimension of values.size().
Status add_float_tensor(format::GgufWriter& w, const std::string& name, const std::vector<float>& values,
                        std::vector<uint64_t> dims = {});

// Rows of `a` followed, row by row, by those of `b` when it has rows ([re | im]). Both in their
// common type when they share it, else widened to F32.
Status add_float_matrix(format::GgufWriter& w, const std::string& name, const FloatMatrix& a, const FloatMatrix& b = {});

// A ternary matrix with one multiplier for every row, as I2_S (codes and the multiplier exactly,
// so loading it back gives the same matrix). Errors: rows with different multipliers, or rows
// whose length is not a multiple of 128.
Status add_ternary_i2_s(format::GgufWriter& w, const std::string& name, const quant::PackedTernary& m);

// "blk.0.attn_q.weight" -> "blk.0.attn_q.scale": the companion tensor of a projection.
std::string scale_tensor_name(const std::string& weight_name);

}  // namespace tern::model
