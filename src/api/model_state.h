// What a tern::Model handle shares: the loaded weights and tokenizer, the chat template, the
// thread pool, and the lock that lets one computation at a time use that pool.
#pragma once

#include <mutex>
#include <optional>

#include "core/thread_pool.h"
#include "engine/model_loading.h"
#include "kernels/dispatch.h"
#include "tern/model.h"
#include "tokenizer/chat_template.h"

namespace tern {

struct Model::State {
    State(engine::LoadedModel loaded_model, int threads) : loaded(std::move(loaded_model)), pool(threads) {}

    engine::LoadedModel loaded;
    std::optional<tokenizer::ChatTemplate> chat_template;   // set when there is a tokenizer
    kernels::KvType kv_type = kernels::KvType::kF32;
    size_t context = 0;
    ModelInfo info;
    ThreadPool pool;
    std::mutex compute;   // held by every computation on `pool`

    const model::Model& model() const { return loaded.model; }
    Result<const tokenizer::Tokenizer*> tokenizer() const { return loaded.require_tokenizer(); }
};

}  // namespace tern
