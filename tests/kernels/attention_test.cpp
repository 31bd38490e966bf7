// Every ISA's attention kernel against the scalar reference, bit for bit: lengths and head
// sizes that are not multiples of the vector width or key block, GQA groups, value strides,
// peaked and flat softmaxes, poisoned lanes past the last key; f32 and f16 caches.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <type_traits>
#include <vector>

#include "core/float16.h"
#include "kernels/dispatch.h"

namespace tern::kernels {
namespace {

struct Case {
    size_t n_keys, head_dim, n_queries;
    float spread;   // scale of q and k: large values give a peaked softmax (exp underflows)
};

template <class Elem>
std::vector<float> run(AttendFn attend, const Case& c, const std::vector<float>& q, const std::vector<Elem>& keys,
                       const std::vector<Elem>& values, size_t value_stride) {
    std::vector<float> scores(c.n_queries * c.n_keys, NAN), out(c.n_queries * c.head_dim + 1, NAN);
    attend({.q = q.data(), .n_queries = c.n_queries, .keys = keys.data(), .values = values.data(),
            .kv_type = std::is_same_v<Elem, uint16_t> ? KvType::kF16 : KvType::kF32, .value_stride = value_stride,
            .n_keys = c.n_keys, .head_dim = c.head_dim, .scores = scores.data(), .out = out.data()});
    EXPECT_TRUE(std::isnan(out.back())) << "wrote past the last query's result";
    out.pop_back();
    return out;
}

std::vector<uint16_t> to_f16(const std::vector<float>& x) {
    std::vector<uint16_t> out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = fp32_to_fp16(x[i]);
    return out;
}
std::vector<float> to_f32(const std::vector<uint16_t>& x) {
    std::vector<float> out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = fp16_to_fp32(x[i]);
    return out;
}

TEST(Attention, EveryIsaMatchesTheReferenceBitForBit) {
    std::mt19937 rng(5);
    const Case cases[] = {{1, 1, 1, 1},     {1, 128, 1, 4},  {7, 20, 3, 1},   {16, 16, 1, 2},
                          {17, 33, 4, 2},   {100, 64, 2, 1}, {255, 128, 4, 1}, {300, 128, 4, 30},
                          {33, 8, 1, 0},    {64, 128, 20, 8}, {5, 3, 17, 1}};   // {keys, dim, queries, spread}
    for (const Case& c : cases) {
        std::normal_distribution<float> dist(0.0f, c.spread == 0 ? 1.0f : c.spread);
        const size_t value_stride = c.head_dim + 3;
        const size_t blocks = (c.n_keys + kKeyBlock - 1) / kKeyBlock;
        // Lanes of the last key block past n_keys are NaN: a kernel that used them would show.
        std::vector<float> q(c.n_queries * c.head_dim), keys(blocks * kKeyBlock * c.head_dim, NAN),
            values(c.n_keys * value_stride);
        for (float& x : q) x = c.spread == 0 ? 0.0f : dist(rng);   // spread 0: all scores equal
        for (size_t s = 0; s < c.n_keys; ++s)
            for (size_t i = 0; i < c.head_dim; ++i)
                keys[(s / kKeyBlock * c.head_dim + i) * kKeyBlock + s % kKeyBlock] = dist(rng);
        for (float& x : values) x = dist(rng);
        const std::vector<float> want = run(ref::attend, c, q, keys, values, value_stride);
        for (float x : want) ASSERT_TRUE(std::isfinite(x));
        for (Isa isa : isas_supported_here()) {
            const std::vector<float> got = run(kernel_table(isa).attend, c, q, keys, values, value_stride);
            EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float)))
                << isa_name(isa) << " n_keys " << c.n_keys << " head_dim " << c.head_dim << " queries " << c.n_queries;
        }

        // The same cache in f16: every ISA matches the reference, and f16 storage gives the
        // very bits of f32 storage holding the same (f16-exact) values, since loads widen exactly.
        const std::vector<uint16_t> keys16 = to_f16(keys), values16 = to_f16(values);
        const std::vector<float> want16 = run(ref::attend, c, q, keys16, values16, value_stride);
        const std::vector<float> f16_exact_as_f32 = run(ref::attend, c, q, to_f32(keys16), to_f32(values16), value_stride);
        EXPECT_EQ(0, std::memcmp(want16.data(), f16_exact_as_f32.data(), want16.size() * sizeof(float)));
        for (Isa isa : isas_supported_here()) {
            const std::vector<float> got = run(kernel_table(isa).attend, c, q, keys16, values16, value_stride);
            EXPECT_EQ(0, std::memcmp(got.data(), want16.data(), want16.size() * sizeof(float)))
                << isa_name(isa) << " f16, n_keys " << c.n_keys << " head_dim " << c.head_dim << " queries " << c.n_queries;
        }
    }
}

TEST(Attention, ReferenceComputesSoftmaxWeightedValues) {
    // Two positions, scores 0 and ln 3 / (1/sqrt(1)) -> weights 1/4 and 3/4.
    std::vector<float> keys(kKeyBlock, NAN);
    keys[0] = 0.0f;
    keys[1] = std::log(3.0f);
    const std::vector<float> q = {1.0f}, values = {4.0f, 8.0f};
    float scores[2], out[1];
    ref::attend({.q = q.data(), .n_queries = 1, .keys = keys.data(), .values = values.data(),
                 .kv_type = KvType::kF32, .value_stride = 1,
                 .n_keys = 2, .head_dim = 1, .scores = scores, .out = out});
    EXPECT_NEAR(out[0], 0.25f * 4 + 0.75f * 8, 1e-5);
}

}  // namespace
}  // namespace tern::kernels
