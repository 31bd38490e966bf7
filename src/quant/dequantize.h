// Dequantise a whole tensor of any decodable ggml type to f32 with the scalar references.
// The reference is the specification: SIMD versions added later must match it bit for bit.
#pragma once

#include <cstddef>
#include <span>

#include "format/ggml_types.h"
#include "tern/status.h"

namespace tern::quant {

// `data` holds exactly the tensor's bytes (format::ggml_tensor_bytes for out.size()
// elements as one row); errors name the type and the sizes that disagree.
Status dequantize(format::GgmlType type, std::span<const std::byte> data, std::span<float> out);

}  // namespace tern::quant
