// llama-bench's protocol on a loaded model: pp<N> (evaluate an N-token prompt in one call)
// and tg<N> (generate N tokens one by one from an empty context), each repeated and reported
// as mean and standard deviation of tokens/s. Decode is bandwidth-bound, so tg also reports the
// bytes it reads per token (weights + KV cache), the GB/s that implies, and that as a fraction
// of the read bandwidth measured in the same run with the same thread count.
// tg<N>x<S> is batched decode as a server runs it: S sequences, each in its own KV-cache slot,
// generate N tokens in lock-step, one S-token step at a time (in a --split layers pipeline, as
// the server's scheduler runs them: 8-16 sequences as a step per group, one in flight per
// rank); tokens/s is the aggregate.
// tg<N>@d<D> decodes after D tokens of context (llama-bench's -d): the context is filled once,
// untimed; each repetition then generates from depth D (a KV cache is cut back to D between
// repetitions; a recurrent state, which cannot be cut back, goes on from where it is, which
// only makes its context deeper).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/memory_bandwidth.h"

#include "kernels/dispatch.h"
#include "model/model.h"

namespace tern::engine {

struct ModelSplit;

struct ModelBenchOptions {
    std::vector<int> threads = {1, 2};
    size_t n_prompt = 128;   // 0 skips pp
    size_t n_gen = 128;      // 0 skips tg
    std::vector<size_t> sequences = {1};   // tg with each count of concurrent sequences
    std::vector<size_t> depths = {0};      // tg after each of these context lengths
    int repetitions = 3;
    double bandwidth_seconds = 0.4;
    kernels::KvType kv_type = kernels::KvType::kF32;
    // Under --split (on the leader): sessions drive the followers, which hold the rest of the
    // model; bytes per token are then this rank's share. One thread count only.
    ModelSplit* split = nullptr;
};

struct ModelBenchResult {
    std::string test;          // "pp128" / "tg128" / "tg128x4" / "tg128@d4096"
    int threads = 0;
    double tokens_per_s = 0;   // mean over repetitions
    double stddev = 0;
    size_t sequences = 1;             // tg: sequences decoded together
    size_t depth = 0;                 // tg: context length before the first generated token
    double bytes_per_token = 0;       // tg: weights (once per step) + KV or state actually read per generated token
    double projection_bytes_per_token = 0;   // tg: the parts of bytes_per_token (projections, head, KV cache or
    double head_bytes_per_token = 0;         //     recurrent state)
    double kv_bytes_per_token = 0;
    double gb_per_s = 0;              // tg: bytes_per_token * tokens_per_s
    double bandwidth_fraction = 0;    // tg: gb_per_s / read bandwidth of the same thread count
};

struct ModelBenchReport {
    std::vector<BandwidthResult> read_bandwidth;   // one per thread count, measured in the same run
    std::vector<ModelBenchResult> results;
    double peak_rss_bytes = 0;
    kernels::KvType kv_type = kernels::KvType::kF32;
};

using ModelBenchProgress = std::function<void(const std::string& test, int threads)>;

ModelBenchReport run_model_benchmark(const model::Model& model, const kernels::KernelTable& table,
                                     const ModelBenchOptions& options, const ModelBenchProgress& progress);

// Peak resident set size of this process so far.
double peak_rss_bytes();

}  // namespace tern::engine
