// The float parts of an iFairy layer (complex-and-recurrent.md §2.4), on complex vectors held
// as [re | im]: n real parts, then n imaginary parts. Plain scalar code with a fixed order, as
// layer_ops.h, so logits do not depend on the ISA the projections were dispatched to.
#pragma once

#include <cstddef>

namespace tern::engine {

// out = w (.) x / sqrt(mean_j(re_j^2 + im_j^2) + eps), the mean over the n complex values and
// w = [w_re | w_im]; out may alias x.
void complex_rms_norm(const float* x, const float* w, size_t n, float eps, float* out);

// iFairy's FFN gate: where re and im of g are both negative both become 0, then each part is
// squared, and g becomes conj(g) (.) u. g and u hold n complex values each.
void complex_relu2_gate(float* g, const float* u, size_t n);

// [re of all heads | im of all heads] -> [head][re | im] (and back): the attention kernel then
// sees each complex head of head_dim values as one real head of 2 * head_dim, whose dot
// product is Re(q conj(k)) and whose NEOX rotation pairs (re_j, im_j), i.e. q_j e^{i theta_j}.
void complex_to_heads(const float* x, size_t n_heads, size_t head_dim, float* out);
void complex_from_heads(const float* x, size_t n_heads, size_t head_dim, float* out);

}  // namespace tern::engine
