#include "quant/phase_quant.h"

#include <cmath>

#include "core/str_cat.h"
#include "quant/packed_complex.h"

namespace tern::quant {

uint8_t phase_code(float re, float im) {
    if (re > 0.0f && -re <= im && im < re) return static_cast<uint8_t>(ComplexUnit::kPlusOne);
    if (im > 0.0f && -im < re && re <= im) return static_cast<uint8_t>(ComplexUnit::kPlusI);
    if (im < 0.0f && im <= re && re < -im) return static_cast<uint8_t>(ComplexUnit::kMinusI);
    if (re == 0.0f && im == 0.0f && !std::signbit(re)) return static_cast<uint8_t>(ComplexUnit::kPlusOne);
    return static_cast<uint8_t>(ComplexUnit::kMinusOne);
}

Result<PhaseQuantized> phase_quantize(std::span<const float> re, std::span<const float> im, float min_scale) {
    if (re.size() != im.size())
        return Error(str_cat("real part has ", re.size(), " values, imaginary part ", im.size()));
    if (re.empty()) return Error("complex tensor is empty");
    PhaseQuantized out;
    out.codes.resize(re.size());
    double sum_re = 0.0, sum_im = 0.0;
    size_t n_re = 0, n_im = 0;
    for (size_t i = 0; i < re.size(); ++i) {
        if (!std::isfinite(re[i]) || !std::isfinite(im[i]))
            return Error(str_cat("weight ", i, " is not finite (re ", re[i], ", im ", im[i], ")"));
        const uint8_t code = phase_code(re[i], im[i]);
        out.codes[i] = code;
        if (code & 1) {
            sum_im += std::fabs(static_cast<double>(im[i]));
            ++n_im;
        } else {
            sum_re += std::fabs(static_cast<double>(re[i]));
            ++n_re;
        }
    }
    const auto mean = [](double sum, size_t n) { return n == 0 ? 0.0f : static_cast<float>(sum / static_cast<double>(n)); };
    out.scale_re = std::fmax(mean(sum_re, n_re), min_scale);
    out.scale_im = std::fmax(mean(sum_im, n_im), min_scale);
    return out;
}

}  // namespace tern::quant
