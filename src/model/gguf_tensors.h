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
// common type when they share it, else widened to F32. `a` alone is written from its own
// memory when the file is (add_float_matrix_as), which must outlive the writer.
Status add_float_matrix(format::GgufWriter& w, const std::string& name, const FloatMatrix& a, const FloatMatrix& b = {});

// How `m` fits `type` (I2_S, TQ2_0 or TQ1_0): its file size, and how many rows' multipliers the
// type's fp16 block scales round (TQ2_0 and TQ1_0; 0: the file holds the matrix exactly).
// Errors: another type, a row length that is not a multiple of the type's block (I2_S 128,
// TQ 256), or rows with different multipliers in I2_S (it holds one per tensor).
struct TernaryEncoding {
    uint64_t bytes = 0;
    size_t rounded_multipliers = 0;
};
Result<TernaryEncoding> check_ternary_encoding(const quant::PackedTernary& m, format::GgmlType type,
                                               const std::string& name);

// The matrix in `type`, written when the file is: rows in `row_order` (row i of the tensor is
// row row_order[i] of `m`; empty keeps them). Codes and multipliers are written exactly, TQ
// block scales as the fp16 nearest the multiplier. `m` must outlive the writer. Returns what
// check_ternary_encoding found, and fails as it does.
Result<TernaryEncoding> add_ternary(format::GgufWriter& w, const std::string& name, const quant::PackedTernary& m,
                   format::GgmlType type, std::vector<size_t> row_order = {});

// A float matrix in `type` (F32, F16, BF16 or Q8_0): its bytes as they are when the type is
// already `type`, else each row decoded and re-encoded (Q8_0 by llama.cpp's rule) as the file
// is written. `m`'s data must outlive the writer. Errors: another type; Q8_0 rows whose length
// is not a multiple of 32.
Status add_float_matrix_as(format::GgufWriter& w, const std::string& name, const FloatMatrix& m, format::GgmlType type);

// "blk.0.attn_q.weight" -> "blk.0.attn_q.scale": the companion tensor of a projection.
std::string scale_tensor_name(const std::string& weight_name);

}  // namespace tern::model
