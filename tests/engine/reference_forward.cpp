#include "engine/reference_forward.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "quant/dequantize.h"

namespace tern::testing {
namespace {

using Matrix = std::vector<double>;   // row-major [rows][cols]

struct Dims {
    size_t vocab, embd, layers, ff, heads, kv_heads, head_dim;
    double theta, eps;
    bool relu2, sub_norms, permuted_qk;
};

std::vector<double> tensor(const format::GgufContents& gguf, const std::string& name) {
    const format::GgufTensorInfo* info = gguf.find_tensor(name);
    if (info == nullptr) throw std::runtime_error("reference: missing " + name);
    std::vector<float> f(info->n_elements);
    if (!quant::dequantize(info->traits.type, gguf.tensor_data(*info), f).ok())
        throw std::runtime_error("reference: cannot dequantize " + name);
    std::vector<double> d(f.begin(), f.end());
    if (const format::GgufTensorInfo* scale = gguf.find_tensor(name.substr(0, name.size() - 7) + ".scale")) {
        const double s = reinterpret_cast<const float*>(gguf.tensor_data(*scale).data())[0];
        for (double& x : d) x *= s;
    }
    return d;
}

uint64_t meta_uint(const format::GgufContents& gguf, const std::string& key) {
    return *gguf.find(key)->as_uint();
}

Dims read_dims(const format::GgufContents& gguf) {
    const std::string arch = gguf.architecture(), p = arch + ".";
    Dims d{};
    d.embd = meta_uint(gguf, p + "embedding_length");
    d.layers = meta_uint(gguf, p + "block_count");
    d.ff = meta_uint(gguf, p + "feed_forward_length");
    d.heads = meta_uint(gguf, p + "attention.head_count");
    d.kv_heads = meta_uint(gguf, p + "attention.head_count_kv");
    d.head_dim = gguf.find(p + "attention.key_length") ? meta_uint(gguf, p + "attention.key_length") : d.embd / d.heads;
    d.vocab = gguf.find_tensor("token_embd.weight")->ne[1];
    d.theta = *gguf.find(p + "rope.freq_base")->as_float();
    d.eps = *gguf.find(p + "attention.layer_norm_rms_epsilon")->as_float();
    d.relu2 = arch == "bitnet-b1.58" || arch == "bitnet-25";
    d.sub_norms = arch != "llama";
    d.permuted_qk = arch == "llama";
    return d;
}

// Inverse of the llama converters' permutation: HF row h*d + t*d/2 + j = file row h*d + 2j + t.
Matrix unpermute_rows(const Matrix& w, size_t heads, size_t head_dim, size_t cols) {
    Matrix out(w.size());
    for (size_t h = 0; h < heads; ++h)
        for (size_t j = 0; j < head_dim / 2; ++j)
            for (size_t t = 0; t < 2; ++t)
                std::copy_n(&w[(h * head_dim + 2 * j + t) * cols], cols,
                            &out[(h * head_dim + t * head_dim / 2 + j) * cols]);
    return out;
}

std::vector<double> rms_norm(const std::vector<double>& x, const std::vector<double>& w, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double scale = 1.0 / std::sqrt(ss / x.size() + eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = w[i] * (x[i] * scale);
    return y;
}

// BitNet b1.58: x_q = clamp(round_half_even(x * 127 / max|x|)), y = W x_q * max|x| / 127.
std::vector<double> bit_linear(const Matrix& w, const std::vector<double>& x, size_t rows) {
    double amax = 0;
    for (double v : x) amax = std::max(amax, std::fabs(v));
    const float a_s = 127.0f / std::max(static_cast<float>(amax), 1e-5f);
    std::vector<double> xq(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        xq[i] = std::clamp(std::nearbyint(static_cast<double>(static_cast<float>(x[i]) * a_s)), -128.0, 127.0);
    std::vector<double> y(rows);
    for (size_t r = 0; r < rows; ++r) {
        double acc = 0;
        for (size_t k = 0; k < x.size(); ++k) acc += w[r * x.size() + k] * xq[k];
        y[r] = acc / a_s;
    }
    return y;
}

void rope_neox(std::vector<double>& x, size_t heads, size_t d, size_t pos, double theta) {
    for (size_t h = 0; h < heads; ++h)
        for (size_t i = 0; i < d / 2; ++i) {
            const double angle = pos * std::pow(theta, -2.0 * i / d);
            double& a = x[h * d + i];
            double& b = x[h * d + i + d / 2];
            const double a0 = a, b0 = b;
            a = a0 * std::cos(angle) - b0 * std::sin(angle);
            b = a0 * std::sin(angle) + b0 * std::cos(angle);
        }
}

}  // namespace

std::vector<float> reference_logits(const format::GgufContents& gguf, const std::vector<int32_t>& tokens) {
    const Dims d = read_dims(gguf);
    const size_t q_dim = d.heads * d.head_dim, kv_dim = d.kv_heads * d.head_dim;
    const Matrix embd = tensor(gguf, "token_embd.weight");
    const Matrix head = gguf.find_tensor("output.weight") ? tensor(gguf, "output.weight") : embd;
    std::vector<std::vector<double>> x(tokens.size());
    for (size_t t = 0; t < tokens.size(); ++t)
        x[t].assign(embd.begin() + tokens[t] * d.embd, embd.begin() + (tokens[t] + 1) * d.embd);

    for (size_t l = 0; l < d.layers; ++l) {
        auto w = [&](const char* name) { return tensor(gguf, "blk." + std::to_string(l) + "." + name + ".weight"); };
        Matrix wq = w("attn_q"), wk = w("attn_k");
        if (d.permuted_qk) {
            wq = unpermute_rows(wq, d.heads, d.head_dim, d.embd);
            wk = unpermute_rows(wk, d.kv_heads, d.head_dim, d.embd);
        }
        const Matrix wv = w("attn_v"), wo = w("attn_output"), gate = w("ffn_gate"), up = w("ffn_up"), down = w("ffn_down");
        std::vector<std::vector<double>> keys(tokens.size()), values(tokens.size());
        std::vector<std::vector<double>> attn_in(tokens.size());
        for (size_t t = 0; t < tokens.size(); ++t) {
            const std::vector<double> h = rms_norm(x[t], w("attn_norm"), d.eps);
            std::vector<double> q = bit_linear(wq, h, q_dim);
            keys[t] = bit_linear(wk, h, kv_dim);
            values[t] = bit_linear(wv, h, kv_dim);
            rope_neox(q, d.heads, d.head_dim, t, d.theta);
            rope_neox(keys[t], d.kv_heads, d.head_dim, t, d.theta);
            std::vector<double> att(q_dim, 0.0);
            for (size_t hd = 0; hd < d.heads; ++hd) {
                const size_t g = hd / (d.heads / d.kv_heads);
                std::vector<double> p(t + 1);
                for (size_t s = 0; s <= t; ++s) {
                    double score = 0;
                    for (size_t i = 0; i < d.head_dim; ++i) score += q[hd * d.head_dim + i] * keys[s][g * d.head_dim + i];
                    p[s] = score / std::sqrt(static_cast<double>(d.head_dim));
                }
                const double mx = *std::max_element(p.begin(), p.end());
                double sum = 0;
                for (double& v : p) sum += (v = std::exp(v - mx));
                for (size_t s = 0; s <= t; ++s)
                    for (size_t i = 0; i < d.head_dim; ++i)
                        att[hd * d.head_dim + i] += p[s] / sum * values[s][g * d.head_dim + i];
            }
            if (d.sub_norms) att = rms_norm(att, w("attn_sub_norm"), d.eps);
            const std::vector<double> o = bit_linear(wo, att, d.embd);
            for (size_t i = 0; i < d.embd; ++i) x[t][i] += o[i];

            const std::vector<double> h2 = rms_norm(x[t], w("ffn_norm"), d.eps);
            const std::vector<double> g = bit_linear(gate, h2, d.ff), u = bit_linear(up, h2, d.ff);
            std::vector<double> m(d.ff);
            for (size_t i = 0; i < d.ff; ++i)
                m[i] = (d.relu2 ? std::pow(std::max(g[i], 0.0), 2) : g[i] / (1 + std::exp(-g[i]))) * u[i];
            if (d.sub_norms) m = rms_norm(m, w("ffn_sub_norm"), d.eps);
            const std::vector<double> dn = bit_linear(down, m, d.embd);
            for (size_t i = 0; i < d.embd; ++i) x[t][i] += dn[i];
        }
    }
    std::vector<float> logits(tokens.size() * d.vocab);
    const std::vector<double> norm_w = tensor(gguf, "output_norm.weight");
    for (size_t t = 0; t < tokens.size(); ++t) {
        const std::vector<double> h = rms_norm(x[t], norm_w, d.eps);
        for (size_t v = 0; v < d.vocab; ++v) {
            double acc = 0;
            for (size_t i = 0; i < d.embd; ++i) acc += head[v * d.embd + i] * h[i];
            logits[t * d.vocab + v] = static_cast<float>(acc);
        }
    }
    return logits;
}

}  // namespace tern::testing
