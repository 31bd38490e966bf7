#include "engine/model_split.h"

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

}  // namespace

void send_command(ModelSplit& tp, const SessionCommand& command) {
    SessionCommand copy = command;
    tp.comm->broadcast(bytes_of(&copy, 1));
}

void finish_followers(ModelSplit& tp) { send_command(tp, {.op = SessionCommand::Op::kFinish}); }

Status follow_leader(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                     ModelSplit& tp) {
    std::map<uint64_t, std::unique_ptr<InferenceSession>> sessions;
    std::vector<BatchToken> batch;
    for (;;) {
        SessionCommand command;
        tp.comm->broadcast(bytes_of(&command, 1));
        using Op = SessionCommand::Op;
        if (command.op == Op::kFinish) return {};
        if (command.op == Op::kCreate) {
            sessions[command.session] = std::make_unique<InferenceSession>(
                model, table, pool, command.a, command.b, static_cast<kernels::KvType>(command.kv_type), &tp);
            continue;
        }
        const auto found = sessions.find(command.session);
        if (found == sessions.end())
            return Error(str_cat("rank ", tp.rank(), ": the leader named session ", command.session,
                                 ", which this rank does not have"));
        InferenceSession& session = *found->second;
        switch (command.op) {
            case Op::kEvaluate: {
                batch.resize(command.a);
                tp.comm->broadcast(bytes_of(batch.data(), batch.size()));
                if (Status s = session.evaluate_batch(batch); !s.ok())
                    return s.error().within(str_cat("rank ", tp.rank(), " replaying the leader's batch"));
                break;
            }
            case Op::kTruncate: session.truncate(command.a, command.b); break;
            case Op::kDestroy: sessions.erase(found); break;
            default: return Error(str_cat("rank ", tp.rank(), ": unknown command ", static_cast<uint32_t>(command.op)));
        }
    }
}

}  // namespace tern::engine
