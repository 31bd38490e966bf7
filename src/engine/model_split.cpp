#include "engine/model_split.h"

#include <algorithm>
#include <map>
#include <memory>

#include "core/str_cat.h"
#include "engine/inference_session.h"

namespace tern::engine {
namespace {

template <class T>
std::span<std::byte> bytes_of(T* items, size_t count) {
    return {reinterpret_cast<std::byte*>(items), count * sizeof(T)};
}

constexpr size_t kMinMicroBatch = 16;

}  // namespace

size_t forward_step_tokens(const ModelSplit* split, size_t n, size_t max_step) {
    if (split == nullptr || !split->pipelined()) return max_step;
    const size_t micro_batches = 2 * split->comm->size();
    return std::clamp((n + micro_batches - 1) / micro_batches, std::min(kMinMicroBatch, max_step), max_step);
}

size_t pipeline_lanes(const ModelSplit* split) {
    return split != nullptr && split->pipelined() ? split->comm->size() : 1;
}

size_t decode_step_share(size_t decoding, size_t lanes) {
    constexpr size_t kMinShare = 4;
    if (lanes <= 1 || decoding > kMinMicroBatch) return std::max<size_t>(decoding, 1);
    return std::max((decoding + lanes - 1) / lanes, kMinShare);
}

void send_command(ModelSplit& split, const SessionCommand& command) {
    SessionCommand copy = command;
    split.comm->broadcast_after_wait(bytes_of(&copy, 1));
}

void finish_followers(ModelSplit& split) { send_command(split, {.op = SessionCommand::Op::kFinish}); }

Status follow_leader(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                     ModelSplit& split) {
    std::map<uint64_t, std::unique_ptr<InferenceSession>> sessions;
    std::vector<BatchToken> batch;
    for (;;) {
        SessionCommand command;
        split.comm->broadcast_after_wait(bytes_of(&command, 1));
        using Op = SessionCommand::Op;
        if (command.op == Op::kFinish) return {};
        if (command.op == Op::kCreate) {
            sessions[command.session] = std::make_unique<InferenceSession>(
                model, table, pool, command.a, command.b, static_cast<kernels::KvType>(command.kv_type), &split);
            continue;
        }
        const auto found = sessions.find(command.session);
        if (found == sessions.end())
            return Error(str_cat("rank ", split.rank(), ": the leader named session ", command.session,
                                 ", which this rank does not have"));
        InferenceSession& session = *found->second;
        switch (command.op) {
            case Op::kEvaluate: {
                batch.resize(command.a);
                split.comm->broadcast(bytes_of(batch.data(), batch.size()));
                if (Status s = session.evaluate_batch(batch); !s.ok())
                    return s.error().within(str_cat("rank ", split.rank(), " replaying the leader's batch"));
                break;
            }
            case Op::kTruncate: session.truncate(command.a, command.b); break;
            case Op::kDestroy: sessions.erase(found); break;
            default: return Error(str_cat("rank ", split.rank(), ": unknown command ", static_cast<uint32_t>(command.op)));
        }
    }
}

}  // namespace tern::engine
