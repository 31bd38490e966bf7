// The row shares of --split rows and the slicing that keeps them: shares cover every row once,
// cut on row tiles and whole KV-head groups, and a slice holds exactly its rows' weights.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "format/gguf_reader.h"
#include "model/gguf_model_loader.h"
#include "model/row_split.h"
#include "model/synthetic_model.h"
#include "testing/test_files.h"

namespace tern::model {
namespace {

TEST(RowSplit, BalancedBoundsCoverEveryRowOnceOnGranules) {
    EXPECT_EQ(balanced_bounds(256, 3, 4), (std::vector<size_t>{0, 88, 172, 256}));   // 64 tiles: 22, 21, 21
    EXPECT_EQ(balanced_bounds(301, 3, 32), (std::vector<size_t>{0, 128, 224, 301}));   // the tail to the last
    EXPECT_EQ(balanced_bounds(2, 3, 1), (std::vector<size_t>{0, 1, 2, 2}));            // a rank with nothing
    EXPECT_EQ(balanced_bounds(10, 1, 4), (std::vector<size_t>{0, 10}));
}

quant::PackedTernary random_matrix(size_t rows, size_t cols, uint64_t seed) {
    const std::vector<float> noise = testing::random_floats(rows * cols, seed);
    Result<quant::PackedTernary> packed = quant::pack_ternary(rows, cols, [&](size_t row, std::span<int8_t> values) {
        for (size_t c = 0; c < cols; ++c) {
            const float v = noise[row * cols + c];
            values[c] = static_cast<int8_t>(v < -0.3f ? -1 : v > 0.3f ? 1 : 0);
        }
        return Result<float>(0.5f + static_cast<float>(row));
    });
    EXPECT_TRUE(packed.ok());
    return std::move(packed).value();
}

void expect_slice_holds_rows(const quant::PackedTernary& whole, size_t begin, size_t end) {
    const quant::PackedTernary slice = slice_rows(whole, begin, end);
    ASSERT_EQ(slice.rows, end - begin);
    ASSERT_EQ(slice.cols, whole.cols);
    EXPECT_EQ(slice.rows_padded % quant::kRowTile, 0u);
    for (size_t r = 0; r < slice.rows; ++r) {
        EXPECT_EQ(slice.row_scale.data()[r], whole.row_scale.data()[begin + r]);
        for (size_t c = 0; c < whole.cols; ++c)
            ASSERT_EQ(quant::packed_ternary_value(slice, r, c), quant::packed_ternary_value(whole, begin + r, c))
                << "row " << begin + r << " col " << c;
    }
    for (size_t r = slice.rows; r < slice.rows_padded; ++r) EXPECT_EQ(slice.row_scale.data()[r], 0.0f);
}

TEST(RowSplit, SlicesHoldExactlyTheirRowsInEveryLayout) {
    for (const quant::TernaryLayout layout :
         {quant::TernaryLayout::kCodes, quant::TernaryLayout::kSignPlanes, quant::TernaryLayout::kBase3}) {
        quant::PackedTernary whole = random_matrix(30, 300, 11);   // 30 rows: the last tile half full
        quant::convert_layout(whole, layout);
        expect_slice_holds_rows(whole, 0, 12);
        expect_slice_holds_rows(whole, 12, 24);
        expect_slice_holds_rows(whole, 24, 30);
        const quant::PackedTernary empty = slice_rows(whole, 28, 28);
        EXPECT_EQ(empty.rows, 0u);
        EXPECT_EQ(empty.n_tiles(), 0u);
        if (layout == quant::TernaryLayout::kSignPlanes) {
            const quant::PackedTernary middle = slice_rows(whole, 12, 24);
            for (size_t r = 0; r < 12; ++r)
                EXPECT_EQ(middle.sign_planes_bias.data()[r], whole.sign_planes_bias.data()[12 + r]);
        }
    }
}

Model load_tiny(std::string_view arch, size_t n_head_kv, LoadOptions options = {}) {
    SyntheticShape shape = *find_synthetic_shape("tiny");
    shape.gguf_arch = arch;
    shape.hp.n_head_kv = n_head_kv;
    auto writer = synthetic_gguf(shape, {.ternary_type = format::GgmlType::kI2_S});
    EXPECT_TRUE(writer.ok()) << writer.error().message();
    auto bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    auto parsed = format::parse_gguf(*bytes, "tiny.gguf");
    EXPECT_TRUE(parsed.ok()) << parsed.error().message();
    auto loaded = load_gguf_model(parsed.value(), bytes, "tiny.gguf", options);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message();
    return std::move(loaded).value();
}

TEST(RowSplit, AttentionSplitsWithWholeKvHeadGroups) {
    Model model = load_tiny("bitnet-b1.58", 2);   // 4 query heads of 64 over 2 KV heads
    const Result<RowShares> shares = plan_row_split(model, 3);
    ASSERT_TRUE(shares.ok()) << shares.error().message();
    EXPECT_EQ(shares.value().kv_heads, (std::vector<size_t>{0, 1, 2, 2}));
    EXPECT_EQ(shares.value().q_rows, (std::vector<size_t>{0, 128, 256, 256}));
    EXPECT_EQ(shares.value().kv_rows, (std::vector<size_t>{0, 64, 128, 128}));
    EXPECT_EQ(shares.value().vocab_rows.back(), model.hp.n_vocab);
    EXPECT_EQ(shares.value().ff_rows.back(), model.hp.n_ff);

    const quant::PackedTernary whole_o = slice_rows(model.layers[1].o, 0, model.layers[1].o.rows);
    keep_row_share(model, shares.value(), 1);
    EXPECT_EQ(model.layers[0].q.rows, 128u);
    EXPECT_EQ(model.layers[0].k.rows, 64u);
    EXPECT_EQ(model.layers[1].o.rows, shares.value().embd_rows[2] - shares.value().embd_rows[1]);
    for (size_t c = 0; c < whole_o.cols; ++c)
        EXPECT_EQ(quant::packed_ternary_value(model.layers[1].o, 0, c),
                  quant::packed_ternary_value(whole_o, shares.value().embd_rows[1], c));
}

TEST(LayerSplit, ContiguousLayersAndOtherLayersFreed) {
    Model model = load_tiny("bitnet-b1.58", 2);   // 2 layers
    const Result<std::vector<size_t>> layers = plan_layer_split(model, 3);
    ASSERT_TRUE(layers.ok()) << layers.error().message();
    EXPECT_EQ(layers.value(), (std::vector<size_t>{0, 1, 2, 2}));   // the last rank only computes the head
    const size_t q_rows = model.layers[1].q.rows;
    keep_layer_share(model, layers.value(), 1);
    EXPECT_EQ(model.layers[0].q.rows, 0u);
    EXPECT_EQ(model.layers[0].down.codes.size(), 0u);
    EXPECT_EQ(model.layers[1].q.rows, q_rows);
    EXPECT_FALSE(plan_layer_split(load_tiny("ifairy", 4), 2).ok());
}

TEST(LayerSplit, APipelineRankRepacksOnlyItsLayers) {
    const Model whole = load_tiny("bitnet-b1.58", 2);
    LoadOptions options;
    options.keep_layer = [](size_t layer, size_t n_layer) { return n_layer == 2 && layer == 1; };
    const Model mine = load_tiny("bitnet-b1.58", 2, options);
    for (const quant::PackedTernary* w : {&mine.layers[0].q, &mine.layers[0].gate, &mine.layers[0].down})
        EXPECT_EQ(w->codes.size(), 0u);
    EXPECT_EQ(mine.layers[0].attn_norm, whole.layers[0].attn_norm);   // norms are small: kept
    ASSERT_EQ(mine.layers[1].down.rows, whole.layers[1].down.rows);
    for (size_t c = 0; c < whole.layers[1].down.cols; ++c)
        EXPECT_EQ(quant::packed_ternary_value(mine.layers[1].down, 3, c), quant::packed_ternary_value(whole.layers[1].down, 3, c));
}

bool same_values(const quant::PackedTernary& a, const quant::PackedTernary& b) {
    if (a.rows != b.rows || a.cols != b.cols) return false;
    for (size_t r = 0; r < a.rows; ++r) {
        if (a.row_scale.data()[r] != b.row_scale.data()[r]) return false;
        for (size_t c = 0; c < a.cols; ++c)
            if (quant::packed_ternary_value(a, r, c) != quant::packed_ternary_value(b, r, c)) return false;
    }
    return true;
}

// What a rank loads with load_only_row_share is what slicing the whole model gives it, for
// every projection and the Q8_0 head; a third rank that holds no KV head gets empty q, k, v.
TEST(RowSplit, ARankLoadsOnlyItsRows) {
    LoadOptions whole_options;
    whole_options.head = model::HeadConversion::kQ8_0;
    Model whole = load_tiny("bitnet-b1.58", 2, whole_options);
    const Result<RowShares> shares = plan_row_split(whole, 3);
    ASSERT_TRUE(shares.ok()) << shares.error().message();
    for (size_t rank = 0; rank < 3; ++rank) {
        LoadOptions options;
        options.head = model::HeadConversion::kQ8_0;
        load_only_row_share(options, 3, rank);
        const Model mine = load_tiny("bitnet-b1.58", 2, options);
        Model sliced = load_tiny("bitnet-b1.58", 2, whole_options);
        keep_row_share(sliced, shares.value(), rank);
        for (size_t l = 0; l < mine.layers.size(); ++l) {
            const LayerWeights& a = mine.layers[l];
            const LayerWeights& b = sliced.layers[l];
            for (const auto& [x, y] : {std::pair{&a.q, &b.q}, {&a.k, &b.k}, {&a.v, &b.v}, {&a.o, &b.o},
                                        {&a.gate, &b.gate}, {&a.up, &b.up}, {&a.down, &b.down}})
                EXPECT_TRUE(same_values(*x, *y)) << "rank " << rank << " layer " << l;
        }
        if (rank == 2) {
            EXPECT_EQ(mine.layers[0].k.rows, 0u);
        }
        const std::vector<size_t>& vocab = shares.value().vocab_rows;
        ASSERT_EQ(mine.output_q8.rows, vocab[rank + 1] - vocab[rank]);
        EXPECT_EQ(mine.quantized_head_first_row, vocab[rank]);
        for (size_t r = 0; r < mine.output_q8.rows; r += 7)
            EXPECT_EQ(std::memcmp(mine.output_q8.row_quants(r), whole.output_q8.row_quants(vocab[rank] + r), 32), 0);
        keep_row_share(sliced, shares.value(), rank);   // a second call keeps what it has
        EXPECT_TRUE(same_values(sliced.layers[1].gate, mine.layers[1].gate));
    }
}

TEST(LayerSplit, TheFirstAndTheLastRankShareTheHead) {
    EXPECT_EQ(plan_pipeline_head(1000, 1), (std::vector<size_t>{0, 1000}));
    EXPECT_EQ(plan_pipeline_head(1000, 2), (std::vector<size_t>{0, 512, 1000}));
    EXPECT_EQ(plan_pipeline_head(1000, 4), (std::vector<size_t>{0, 512, 512, 512, 1000}));
    EXPECT_EQ(plan_pipeline_head(32, 3), (std::vector<size_t>{0, 32, 32, 32}));
    for (size_t rank = 0; rank < 2; ++rank) {
        LoadOptions options;
        options.head = model::HeadConversion::kQ8_0;
        load_only_layer_share(options, 2, rank);
        const Model mine = load_tiny("bitnet-b1.58", 2, options);
        const std::vector<size_t> head = plan_pipeline_head(mine.hp.n_vocab, 2);
        EXPECT_TRUE(mine.q8_head());
        EXPECT_EQ(mine.output_q8.rows, head[rank + 1] - head[rank]);
        EXPECT_EQ(mine.quantized_head_first_row, head[rank]);
        EXPECT_EQ(mine.layers[rank].q.rows, mine.hp.n_head * mine.hp.head_dim);
        EXPECT_EQ(mine.layers[1 - rank].q.rows, 0u);
    }
    // A rank between the first and the last keeps none of the head.
    LoadOptions middle;
    load_only_layer_share(middle, 3, 1);
    Hparams hp;
    hp.n_vocab = 1000;
    const RowRange none = middle.keep_rows(TensorRole::kOutput, hp);
    EXPECT_EQ(none.begin, none.end);
}

TEST(RowSplit, RefusesOtherFamiliesByName) {
    const Model complex = load_tiny("ifairy", 4);
    const Result<RowShares> shares = plan_row_split(complex, 2);
    ASSERT_FALSE(shares.ok());
    EXPECT_NE(shares.error().message().find("supports ternary transformers"), std::string::npos)
        << shares.error().message();
}

}  // namespace
}  // namespace tern::model
