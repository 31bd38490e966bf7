#include "engine/layer_stack.h"

#include "core/check.h"
#include "engine/complex_transformer.h"
#include "engine/gated_recurrent.h"
#include "engine/inference_session.h"
#include "engine/ternary_transformer.h"
#include "engine/widely_linear_transformer.h"

namespace tern::engine {

void for_rows(ThreadPool& pool, size_t n_rows, const std::function<void(size_t begin, size_t end)>& fn) {
    // Decode (one row per sequence) is not worth waking the pool for: a few microseconds of work.
    constexpr size_t kRowsWorthThreads = 16;
    if (n_rows < kRowsWorthThreads)
        fn(0, n_rows);
    else
        pool.parallel_for(n_rows, 1, fn);
}

std::unique_ptr<LayerStack> make_layer_stack(const model::Model& model, const kernels::KernelTable& table,
                                             ThreadPool& pool, size_t n_ctx, size_t n_slots, kernels::KvType kv_type,
                                             ModelSplit* split) {
    // model::plan_row_split() refuses the other families.
    TERN_CHECK(split == nullptr || model.arch->family == model::ModelFamily::kTernaryTransformer);
    switch (model.arch->family) {
        case model::ModelFamily::kTernaryTransformer:
            return std::make_unique<TernaryTransformerStack>(model, table, pool, n_ctx, n_slots, kv_type, kMaxBatchTokens,
                                                             split);
        case model::ModelFamily::kComplexTransformer:
            return std::make_unique<ComplexTransformerStack>(model, table, pool, n_ctx, n_slots, kv_type, kMaxBatchTokens);
        case model::ModelFamily::kWidelyLinearTransformer:
            return std::make_unique<WidelyLinearTransformerStack>(model, table, pool, n_ctx, n_slots, kv_type,
                                                                  kMaxBatchTokens);
        case model::ModelFamily::kGatedRecurrent:
            return std::make_unique<GatedRecurrentStack>(model, table, pool, n_slots, kMaxBatchTokens);
    }
    return nullptr;
}

}  // namespace tern::engine
