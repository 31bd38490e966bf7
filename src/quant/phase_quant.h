// PhaseQuant: a complex matrix snapped, weight by weight, to the nearest of the four units
// {+1, +i, -1, -i} by its angle, with one magnitude per axis for the whole matrix (iFairy's
// ComplexLinear and Fairy2i's complex_phase quantizer; complex-and-recurrent.md §1.3, §2.3).
//
// Sectors of phi = atan2(im, re), half-open as the reference writes them:
//   +1: -pi/4 <= phi < pi/4     +i: pi/4 <= phi < 3pi/4     -i: -3pi/4 <= phi < -pi/4
//   -1: otherwise (phi >= 3pi/4 or phi < -3pi/4)
// decided here by exact comparisons instead of a rounded atan2 (phase_code), so that a weight
// on a sector boundary goes where the exact angle puts it:
//   +1: re > 0 and -re <= im < re     +i: im > 0 and -im < re <= im
//   -i: im < 0 and im <= re < -im     -1: every other non-zero weight
//   0 + 0i: +1, but -1 when re is -0.0 (atan2(+-0, -0) = +-pi).
// Scales: s_re = mean |re| over the weights sent to +-1, s_im = mean |im| over those sent to
// +-i (0 for an empty axis), each raised to at least `min_scale` (iFairy 1e-5, Fairy2i 1e-6).
// The means are summed in double and rounded once to float, so they do not depend on the
// order of the sum; the PyTorch reference (tools/train/ifairy_model.py) does the same.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tern/status.h"

namespace tern::quant {

inline constexpr float kIfairyMinScale = 1e-5f;
inline constexpr float kFairy2iMinScale = 1e-6f;

struct PhaseQuantized {
    std::vector<uint8_t> codes;   // ComplexUnit values (packed_complex.h), same order as the input
    float scale_re = 0.0f;
    float scale_im = 0.0f;
};

// The unit code (0..3) of one finite weight.
uint8_t phase_code(float re, float im);

// Errors: re and im of different lengths, none at all, or a weight that is NaN or infinite
// (named by its index).
Result<PhaseQuantized> phase_quantize(std::span<const float> re, std::span<const float> im, float min_scale);

}  // namespace tern::quant
