#include "quant/calibrated_ternary.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/float16.h"
#include "core/str_cat.h"

namespace tern::quant {
namespace {

// The row's threshold rule: the weights above half its mean |w| keep their sign (into `t`);
// returns their mean |w|, the least-squares scale of that pattern without calibration.
double threshold_row(const float* w, size_t cols, int8_t* t) {
    double sum = 0;
    for (size_t c = 0; c < cols; ++c) sum += std::fabs(w[c]);
    const double half = 0.5 * sum / static_cast<double>(cols);
    double kept = 0;
    size_t n = 0;
    for (size_t c = 0; c < cols; ++c) {
        const bool keep = std::fabs(w[c]) > half;
        t[c] = static_cast<int8_t>(keep ? (w[c] > 0 ? 1 : -1) : 0);
        if (keep) kept += std::fabs(w[c]), ++n;
    }
    return n != 0 ? kept / static_cast<double>(n) : 0.0;
}

// y = H t for a ternary row t.
void gram_times(std::span<const double> gram, const int8_t* t, size_t cols, double* y) {
    std::fill(y, y + cols, 0.0);
    for (size_t c = 0; c < cols; ++c) {
        if (t[c] == 0) continue;
        const double* column = gram.data() + c * cols;   // H is symmetric: row c = column c
        if (t[c] > 0) for (size_t k = 0; k < cols; ++k) y[k] += column[k];
        else for (size_t k = 0; k < cols; ++k) y[k] -= column[k];
    }
}

// s = (w^T H t) / (t^T H t), rounded to fp16; `fallback` when the fit is not a positive number.
float fitted_multiplier(const float* w, const int8_t* t, size_t cols, std::span<const double> gram, double fallback,
                        std::vector<double>& scratch) {
    scratch.resize(cols);
    gram_times(gram, t, cols, scratch.data());
    double num = 0, den = 0;
    for (size_t c = 0; c < cols; ++c) {
        num += static_cast<double>(w[c]) * scratch[c];
        den += static_cast<double>(t[c]) * scratch[c];
    }
    const double s = den > 0 && num > 0 ? num / den : fallback;
    return fp16_to_fp32(fp32_to_fp16(static_cast<float>(s)));
}

// In place: the lower Cholesky factor of the n x n matrix a. False when a is not positive definite.
bool cholesky(std::vector<double>& a, size_t n) {
    for (size_t j = 0; j < n; ++j) {
        double d = a[j * n + j];
        for (size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0)) return false;
        d = std::sqrt(d);
        a[j * n + j] = d;
        for (size_t i = j + 1; i < n; ++i) {
            double v = a[i * n + j];
            for (size_t k = 0; k < j; ++k) v -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = v / d;
        }
        for (size_t k = j + 1; k < n; ++k) a[j * n + k] = 0;
    }
    return true;
}

// The upper Cholesky factor U of H^-1 (H^-1 = U^T U), H damped by 1% of its mean diagonal as GPTQ
// does; columns no calibration token touched get a unit diagonal.
Result<std::vector<double>> inverse_cholesky_upper(std::span<const double> gram, size_t n) {
    std::vector<double> h(gram.begin(), gram.end());
    double mean_diag = 0;
    for (size_t i = 0; i < n; ++i) mean_diag += h[i * n + i];
    mean_diag /= static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) h[i * n + i] = h[i * n + i] == 0 ? 1.0 : h[i * n + i] + 0.01 * mean_diag;
    if (!cholesky(h, n)) return Error("the calibration Gram matrix is not positive definite");
    // L^-1 by forward substitution, then H^-1 = L^-T L^-1.
    std::vector<double> inv_l(n * n, 0.0);
    for (size_t j = 0; j < n; ++j) {
        inv_l[j * n + j] = 1.0 / h[j * n + j];
        for (size_t i = j + 1; i < n; ++i) {
            double v = 0;
            for (size_t k = j; k < i; ++k) v -= h[i * n + k] * inv_l[k * n + j];
            inv_l[i * n + j] = v / h[i * n + i];
        }
    }
    std::vector<double> hinv(n * n, 0.0);
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j <= i; ++j) {
            double v = 0;
            for (size_t k = i; k < n; ++k) v += inv_l[k * n + i] * inv_l[k * n + j];
            hinv[i * n + j] = hinv[j * n + i] = v;
        }
    // H^-1 = U^T U with U upper: U^T is the lower Cholesky factor of H^-1.
    if (!cholesky(hinv, n)) return Error("the inverse calibration Gram matrix is not positive definite");
    std::vector<double> upper(n * n, 0.0);
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j <= i; ++j) upper[j * n + i] = hinv[i * n + j];
    return upper;
}

// Columns by decreasing input energy (H's diagonal), GPTQ's "act order": the columns that
// matter most are rounded first, while most columns are left to absorb their errors.
std::vector<size_t> activation_order(std::span<const double> gram, size_t n) {
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return gram[a * n + a] > gram[b * n + b]; });
    return order;
}

std::vector<double> permuted_gram(std::span<const double> gram, const std::vector<size_t>& order) {
    const size_t n = order.size();
    std::vector<double> p(n * n);
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j) p[i * n + j] = gram[order[i] * n + order[j]];
    return p;
}

// One row through GPTQ: columns (in `order`) rounded to {-a, 0, +a}, each error fed forward.
void gptq_row(const float* w, size_t cols, double a, const std::vector<size_t>& order, const std::vector<double>& upper,
              int8_t* t) {
    std::vector<double> row(cols);
    for (size_t j = 0; j < cols; ++j) row[j] = w[order[j]];
    for (size_t j = 0; j < cols; ++j) {
        const double v = a > 0 ? std::clamp(std::nearbyint(row[j] / a), -1.0, 1.0) : 0.0;
        t[order[j]] = static_cast<int8_t>(v);
        const double err = (row[j] - v * a) / upper[j * cols + j];
        const double* u = upper.data() + j * cols;
        for (size_t k = j + 1; k < cols; ++k) row[k] -= err * u[k];
    }
}

}  // namespace

Result<PackedTernary> ternarize_calibrated(std::span<const float> weights, size_t rows, size_t cols,
                                          std::span<const double> gram, CalibratedMethod method, ThreadPool& pool) {
    if (weights.size() != rows * cols || weights.empty())
        return Error(str_cat(weights.size(), " weights cannot fill ", rows, "x", cols));
    if (gram.size() != cols * cols) return Error(str_cat("Gram matrix of ", gram.size(), " values for ", cols, " columns"));
    for (const float w : weights)
        if (!std::isfinite(w)) return Error(str_cat("weight ", w, " is not finite"));
    std::vector<double> upper;
    std::vector<size_t> order;
    if (method == CalibratedMethod::kGptq) {
        order = activation_order(gram, cols);
        TERN_ASSIGN_OR_RETURN(upper, inverse_cholesky_upper(permuted_gram(gram, order), cols));
    }
    std::vector<int8_t> codes(rows * cols);
    std::vector<float> multipliers(rows);
    pool.parallel_for_dynamic(rows, 16, [&](int, size_t begin, size_t end) {
        std::vector<double> scratch;
        for (size_t r = begin; r < end; ++r) {
            const float* w = weights.data() + r * cols;
            int8_t* t = codes.data() + r * cols;
            const double a = threshold_row(w, cols, t);
            multipliers[r] = fitted_multiplier(w, t, cols, gram, a, scratch);
            if (method == CalibratedMethod::kGptq) {
                gptq_row(w, cols, multipliers[r], order, upper, t);
                multipliers[r] = fitted_multiplier(w, t, cols, gram, a, scratch);
            }
        }
    });
    return pack_ternary(rows, cols, [&](size_t row, std::span<int8_t> values) -> Result<float> {
        std::copy_n(codes.data() + row * cols, cols, values.data());
        return multipliers[row];
    });
}

double relative_output_error(std::span<const float> weights, const PackedTernary& q, std::span<const double> gram) {
    const size_t cols = q.cols;
    double err = 0, energy = 0;
    std::vector<double> d(cols), w(cols);
    for (size_t r = 0; r < q.rows; ++r) {
        for (size_t c = 0; c < cols; ++c) {
            w[c] = weights[r * cols + c];
            d[c] = w[c] - q.row_scale.data()[r] * packed_ternary_value(q, r, c);
        }
        for (size_t i = 0; i < cols; ++i) {
            double hd = 0, hw = 0;
            for (size_t k = 0; k < cols; ++k) hd += gram[i * cols + k] * d[k], hw += gram[i * cols + k] * w[k];
            err += d[i] * hd;
            energy += w[i] * hw;
        }
    }
    return energy > 0 ? err / energy : 0.0;
}

}  // namespace tern::quant
