// The extension point for model families: everything between the token embedding and the
// final norm. InferenceSession owns the sequences (slots, positions, batching), the embedding,
// the LM head and the logits; a LayerStack owns a family's layers and its per-sequence memory
// (a KV cache for transformers, a recurrent state for recurrent models). A new family is one
// new LayerStack, and the session, the server, sampling and batching serve it unchanged.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "model/model.h"

namespace tern::engine {

// The rows of one forward step: row t is appended to sequence slot[t] at position pos[t].
struct StepRows {
    size_t n = 0;
    const size_t* slot = nullptr;
    const size_t* pos = nullptr;
};

class LayerStack {
public:
    virtual ~LayerStack() = default;

    // Runs every layer over the step's rows of hidden state, in place: row t is
    // x[t * model.hidden_width() ...]. Positions before pos[t] of slot[t] are in memory.
    virtual void forward(float* x, const StepRows& rows) = 0;
    // The final norm of one row of hidden_width() floats (out may not alias in).
    virtual void final_norm(const float* in, float* out) const = 0;

    // Bytes of per-sequence memory (KV cache or state) for all slots.
    virtual size_t memory_bytes() const = 0;

    // A family whose LM head is not a float or Q8_0 matrix computes it here: logits of n final
    // (normed) rows into logits[t * stride ...]. false: the session's own head serves.
    virtual bool head(const float* /*rows*/, size_t /*n*/, float* /*logits*/, size_t /*stride*/) { return false; }

    // Whether a sequence can be cut back to any earlier position (a KV cache forgets its tail).
    // A recurrent state holds the whole prefix in one vector: it can only start over.
    virtual bool rewindable() const { return true; }
};

// Calls fn(begin, end) over [0, n_rows): inline for a decode step's few rows, else on the pool.
void for_rows(ThreadPool& pool, size_t n_rows, const std::function<void(size_t begin, size_t end)>& fn);

struct ModelSplit;

// The model's family's stack, for n_slots sequences of up to n_ctx positions each; with `split`
// (ternary transformers only), for this rank's share of a split model.
std::unique_ptr<LayerStack> make_layer_stack(const model::Model& model, const kernels::KernelTable& table,
                                             ThreadPool& pool, size_t n_ctx, size_t n_slots, kernels::KvType kv_type,
                                             ModelSplit* split = nullptr);

}  // namespace tern::engine
