#include "engine/calibrated_ternarization.h"

#include <algorithm>
#include <cmath>

#include "core/str_cat.h"
#include "engine/layer_ops.h"
#include "format/hf_checkpoint.h"
#include "model/hf_model_loader.h"
#include "quant/dequantize.h"

namespace tern::engine {
namespace {

using model::TensorRole;

// Rows x cols activations, one row per calibration token.
struct Activations {
    size_t rows = 0, cols = 0;
    std::vector<float> values;
    float* row(size_t r) { return values.data() + r * cols; }
    const float* row(size_t r) const { return values.data() + r * cols; }
};

Activations zeros(size_t rows, size_t cols) { return {.rows = rows, .cols = cols, .values = std::vector<float>(rows * cols)}; }

// H = X^T X in double, one H row per task.
std::vector<double> gram_of(const Activations& x, ThreadPool& pool) {
    const size_t n = x.cols;
    std::vector<double> gram(n * n, 0.0);
    pool.parallel_for_dynamic(n, 8, [&](int, size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) {
            double* g = gram.data() + i * n;
            for (size_t t = 0; t < x.rows; ++t) {
                const float* row = x.row(t);
                const double xi = row[i];
                if (xi == 0) continue;
                for (size_t j = 0; j < n; ++j) g[j] += xi * static_cast<double>(row[j]);
            }
        }
    });
    return gram;
}

// The ternary matrix as floats (T times the row multiplier), rows x cols.
std::vector<float> dequantized(const quant::PackedTernary& m) {
    std::vector<float> w(m.rows * m.cols);
    std::vector<int8_t> values(m.cols);
    for (size_t r = 0; r < m.rows; ++r) {
        quant::packed_ternary_row(m, r, values);
        for (size_t c = 0; c < m.cols; ++c) w[r * m.cols + c] = static_cast<float>(values[c]) * m.row_scale.data()[r];
    }
    return w;
}

// y = x W^T for W rows x x.cols.
Activations times_transposed(const Activations& x, const std::vector<float>& w, size_t rows, ThreadPool& pool) {
    Activations y = zeros(x.rows, rows);
    pool.parallel_for_dynamic(x.rows, 16, [&](int, size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t)
            for (size_t r = 0; r < rows; ++r) y.row(t)[r] = dot(x.row(t), w.data() + r * x.cols, x.cols);
    });
    return y;
}

class LayerCalibrator {
public:
    LayerCalibrator(model::Model& model, const format::HfCheckpoint& ckpt, std::span<const std::vector<int32_t>> sequences,
                    quant::CalibratedMethod method, ThreadPool& pool)
        : model_(model), ckpt_(ckpt), sequences_(sequences), method_(method), pool_(pool) {}

    // Ternarises the projection of `role` in `layer` from inputs `x` (and their Gram matrix),
    // stores it in the model and returns x W_q^T.
    Result<Activations> project(size_t layer, TensorRole role, const Activations& x, const std::vector<double>& gram) {
        const model::TensorSpec& spec = model::tensor_spec(*model_.arch, role);
        const std::string name = model::tensor_name(spec.hf_name, layer);
        const format::HfCheckpoint::TensorRef* ref = ckpt_.find(name);
        if (ref == nullptr) return Error(str_cat("missing '", name, "'"));
        TERN_ASSIGN_OR_RETURN(const std::vector<float> weights, model::read_hf_floats(*ref));
        quant::PackedTernary& dest = *model_.layers[layer].projection(role);
        Result<quant::PackedTernary> q = quant::ternarize_calibrated(weights, dest.rows, dest.cols, gram, method_, pool_);
        if (!q.ok()) return q.error().within(str_cat("tensor '", name, "'"));
        if (q.value().layout != dest.layout) quant::convert_layout(q.value(), dest.layout);
        dest = std::move(q).value();
        return times_transposed(x, dequantized(dest), dest.rows, pool_);
    }

    Result<Activations> embed() {
        size_t tokens = 0;
        for (const auto& s : sequences_) tokens += s.size();
        const model::FloatMatrix& e = model_.token_embd;
        Activations h = zeros(tokens, e.cols);
        size_t t = 0;
        for (const auto& s : sequences_)
            for (const int32_t id : s) {
                if (id < 0 || static_cast<size_t>(id) >= e.rows)
                    return Error(str_cat("calibration token ", id, " is outside the vocabulary [0, ", e.rows, ")"));
                TERN_TRY(quant::dequantize(e.type, {e.row(static_cast<size_t>(id)), e.row_bytes}, {h.row(t++), e.cols}));
            }
        return h;
    }

    Status layer(size_t l, Activations& h) {
        const model::Hparams& hp = model_.hp;
        const model::LayerWeights& w = model_.layers[l];
        Activations xn = normed(h, w.attn_norm);
        const std::vector<double> attn_gram = gram_of(xn, pool_);
        TERN_ASSIGN_OR_RETURN(Activations q, project(l, TensorRole::kAttnQ, xn, attn_gram));
        TERN_ASSIGN_OR_RETURN(Activations k, project(l, TensorRole::kAttnK, xn, attn_gram));
        TERN_ASSIGN_OR_RETURN(const Activations v, project(l, TensorRole::kAttnV, xn, attn_gram));
        rotate(q, hp.n_head);
        rotate(k, hp.n_head_kv);
        const Activations attended = attention(q, k, v);
        TERN_ASSIGN_OR_RETURN(const Activations o, project(l, TensorRole::kAttnOutput, attended, gram_of(attended, pool_)));
        add(h, o);
        xn = normed(h, w.ffn_norm);
        const std::vector<double> ffn_gram = gram_of(xn, pool_);
        TERN_ASSIGN_OR_RETURN(Activations gate, project(l, TensorRole::kFfnGate, xn, ffn_gram));
        TERN_ASSIGN_OR_RETURN(const Activations up, project(l, TensorRole::kFfnUp, xn, ffn_gram));
        for (size_t t = 0; t < gate.rows; ++t) gated_activation(gate.row(t), up.row(t), gate.cols, model_.arch->ffn_activation);
        TERN_ASSIGN_OR_RETURN(const Activations down, project(l, TensorRole::kFfnDown, gate, gram_of(gate, pool_)));
        add(h, down);
        return {};
    }

private:
    Activations normed(const Activations& h, const std::vector<float>& weights) const {
        Activations out = zeros(h.rows, h.cols);
        for (size_t t = 0; t < h.rows; ++t) rms_norm(h.row(t), weights.data(), h.cols, model_.hp.norm_eps, out.row(t));
        return out;
    }

    static void add(Activations& h, const Activations& delta) {
        for (size_t i = 0; i < h.values.size(); ++i) h.values[i] += delta.values[i];
    }

    // HF weights: NEOX pairs, each sequence from position 0.
    void rotate(Activations& x, size_t heads) const {
        const size_t d = model_.hp.head_dim;
        std::vector<float> cos(d / 2), sin(d / 2);
        size_t t = 0;
        for (const auto& s : sequences_)
            for (size_t pos = 0; pos < s.size(); ++pos, ++t) {
                rope_angles(pos, d, model_.hp.rope_theta, cos.data(), sin.data());
                apply_rope(x.row(t), heads, d, cos.data(), sin.data(), model::RopePairing::kNeox);
            }
    }

    // Causal softmax attention within each sequence, grouped-query heads.
    Activations attention(const Activations& q, const Activations& k, const Activations& v) {
        const model::Hparams& hp = model_.hp;
        const size_t d = hp.head_dim, group = hp.n_head / hp.n_head_kv;
        const float scale = 1.0f / std::sqrt(static_cast<float>(d));
        Activations out = zeros(q.rows, q.cols);
        std::vector<size_t> starts;
        size_t start = 0;
        for (const auto& s : sequences_) starts.push_back(start), start += s.size();
        pool_.parallel_for_dynamic(q.rows, 8, [&](int, size_t begin, size_t end) {
            std::vector<float> scores;
            for (size_t t = begin; t < end; ++t) {
                const size_t first = *(std::upper_bound(starts.begin(), starts.end(), t) - 1);
                scores.resize(t - first + 1);
                for (size_t h = 0; h < hp.n_head; ++h) {
                    const size_t kv = h / group;
                    float top = -INFINITY;
                    for (size_t u = first; u <= t; ++u) {
                        scores[u - first] = dot(q.row(t) + h * d, k.row(u) + kv * d, d) * scale;
                        top = std::max(top, scores[u - first]);
                    }
                    float sum = 0;
                    for (float& s : scores) sum += (s = std::exp(s - top));
                    float* o = out.row(t) + h * d;
                    for (size_t u = first; u <= t; ++u) {
                        const float p = scores[u - first] / sum;
                        const float* vu = v.row(u) + kv * d;
                        for (size_t i = 0; i < d; ++i) o[i] += p * vu[i];
                    }
                }
            }
        });
        return out;
    }

    model::Model& model_;
    const format::HfCheckpoint& ckpt_;
    std::span<const std::vector<int32_t>> sequences_;
    quant::CalibratedMethod method_;
    ThreadPool& pool_;
};

}  // namespace

Status calibrate_projections(model::Model& model, const std::string& folder,
                             std::span<const std::vector<int32_t>> sequences, quant::CalibratedMethod method,
                             ThreadPool& pool, const CalibrationProgress& progress) {
    if (model.arch->family != model::ModelFamily::kTernaryTransformer || model.arch->sub_norms)
        return Error(str_cat("calibrated methods ternarise float LLaMA-family models; '", model.arch->name, "' is not one"));
    size_t tokens = 0;
    for (const auto& s : sequences) tokens += s.size();
    if (tokens == 0) return Error("the calibration text has no tokens");
    TERN_ASSIGN_OR_RETURN(const format::HfCheckpoint ckpt, format::HfCheckpoint::open(folder));
    LayerCalibrator calibrator(model, ckpt, sequences, method, pool);
    TERN_ASSIGN_OR_RETURN(Activations h, calibrator.embed());
    for (size_t l = 0; l < model.hp.n_layer; ++l) {
        if (Status s = calibrator.layer(l, h); !s.ok()) return s.error().within(str_cat("layer ", l));
        if (progress) progress(l + 1, model.hp.n_layer);
    }
    return {};
}

}  // namespace tern::engine
