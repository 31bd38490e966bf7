// Query heads attending over n_keys cached positions of the KV head they share (causal
// attention for one token; grouped-query attention gives several query heads one KV head):
// softmax(q . k_s / sqrt(d)) weighted sum of v_s, per query head. Keys come in blocks of
// kKeyBlock positions, each block [dim][kKeyBlock] (engine/kv_cache.h), so the scores of a
// block are kKeyBlock lanes that stay in registers over all dimensions, and both keys and
// values are read as contiguous streams, once for the whole group.
//
// Contract (every ISA matches kernels::ref bit for bit; -ffp-contract=off, nothing fused):
//   score[s] = 0 + q[0]*k[0][s] + q[1]*k[1][s] + ...     in order of i, one rounding each
//   score[s] = score[s] * (1 / sqrtf(d));  m = max_s score[s]
//   e[s] = expf(score[s] - m)                           the C library's expf, scalar everywhere
//   sum = e[0] + e[1] + ...                              in order of s
//   out[i] = 0 + (e[0] * (1/sum)) * v[0][i] + ...        in order of s
// per query head. The SIMD versions vectorise across positions (scores) and dimensions
// (values), which keeps every element's order of operations.
//
// Keys and values are f32 or f16 (KvType). f16 halves the cache and what a decode step reads
// from it at long context; each element is widened to f32 exactly when loaded, so the contract
// holds for the widened values and f16 results match f32 results on the same (f16-exact) data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern::kernels {

inline constexpr size_t kKeyBlock = 16;

enum class KvType { kF32, kF16 };

inline size_t kv_type_bytes(KvType type) { return type == KvType::kF16 ? sizeof(uint16_t) : sizeof(float); }
inline const char* kv_type_name(KvType type) { return type == KvType::kF16 ? "f16" : "f32"; }

struct AttendArgs {
    const float* q;          // query g at q + g * head_dim
    size_t n_queries;        // query heads sharing these keys and values (>= 1)
    const void* keys;        // dim i of position s at keys[(s / kKeyBlock * head_dim + i) * kKeyBlock + s % kKeyBlock];
                             // lanes of the last block past n_keys are never read
    const void* values;      // position s at values + s * value_stride, head_dim elements
    KvType kv_type;          // element type of keys and values
    size_t value_stride;     // >= head_dim, in elements
    size_t n_keys;           // >= 1
    size_t head_dim;
    float* scores;           // scratch, n_queries * n_keys floats
    float* out;              // query g's result at out + g * head_dim, written
};
using AttendFn = void (*)(const AttendArgs&);

namespace ref {
void attend(const AttendArgs& args);
}  // namespace ref
namespace avx2 {
void attend(const AttendArgs& args);
}  // namespace avx2
namespace avx512 {
void attend(const AttendArgs& args);
}  // namespace avx512
namespace neon {
void attend(const AttendArgs& args);
}  // namespace neon

}  // namespace tern::kernels
