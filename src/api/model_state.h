// What a tern::Model handle shares: the loaded weights and tokenizer, the chat template, the
// thread pool, the lock that lets one computation at a time use that pool, and (under a split)
// this process's place in the MPI job.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "core/fair_mutex.h"
#include "core/thread_pool.h"
#include "engine/model_loading.h"
#include "engine/split_job.h"
#include "kernels/dispatch.h"
#include "tern/model.h"
#include "tokenizer/chat_template.h"

namespace tern {

struct Model::State {
    State(std::unique_ptr<engine::SplitJob> split_job, engine::LoadedModel loaded_model, int threads)
        : split(std::move(split_job)), loaded(std::move(loaded_model)), pool(threads) {}

    // First, so that it goes last: the leader releases the followers once nothing computes.
    std::unique_ptr<engine::SplitJob> split;
    engine::LoadedModel loaded;
    std::optional<tokenizer::ChatTemplate> chat_template;   // set when there is a tokenizer
    kernels::KvType kv_type = kernels::KvType::kF32;
    size_t context = 0;
    ModelInfo info;
    ThreadPool pool;
    FairMutex compute;   // held by every computation on `pool`, taken in the order asked

    const model::Model& model() const { return loaded.model; }
    Result<const tokenizer::Tokenizer*> tokenizer() const { return loaded.require_tokenizer(); }
    // What every session of this model passes to the engine: null without a split.
    engine::ModelSplit* model_split() const { return split ? split->model_split() : nullptr; }
    // Computations run on rank 0; the other ranks of a split only follow().
    Status on_leader(std::string_view call) const;
};

}  // namespace tern
