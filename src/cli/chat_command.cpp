// `tern chat`: an interactive conversation in the terminal. Replies stream as they are
// generated; earlier turns stay in the KV cache (engine/conversation.h). Ctrl-C stops the
// current reply (not the program), Ctrl-D / EOF or /exit quits, /reset starts over.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/draft_setup.h"
#include "cli/model_setup.h"
#include "cli/split_setup.h"
#include "cli/signal_flag.h"
#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "engine/conversation.h"
#include "sampling/sampler.h"

namespace tern::cli {
namespace {

// The one piece of process-wide state: a signal handler can only talk through a flag.
volatile std::sig_atomic_t g_interrupted = 0;

void on_sigint(int) { g_interrupted = 1; }

struct Reply {
    std::string text;
    std::vector<int32_t> evaluated;   // the reply's tokens now in the KV cache
};

// Streams one reply; nullopt on an engine error (reported). The drafter's context is the
// conversation so far; penalties see only the reply.
std::optional<Reply> generate_reply(engine::InferenceSession& session, const engine::Conversation& conversation,
                                    const tokenizer::Tokenizer& tok, sampling::Sampler& sampler,
                                    const DraftSetup& draft, size_t max_tokens) {
    tokenizer::StreamingDecoder decoder(tok);
    g_interrupted = 0;
    Reply out;
    const std::span<const int32_t> context = conversation.cached_tokens();
    engine::SpeculativeGenerator generator(session, sampler, draft.drafter.get(), context, context.size(),
                                           draft.generator_options);
    int32_t last = -1;   // the reply's last token, not yet in the cache (-1: none)
    size_t produced = 0;
    bool ended = false;   // an end-of-generation token: it stays out of the cache
    const auto fail = [](const Error& e) {
        report_failure(e.message());
        return std::nullopt;
    };
    while (!ended && produced < max_tokens) {
        if (g_interrupted) {
            std::printf(" [stopped]");
            break;
        }
        if (generator.context_full()) {
            std::printf(" [context full]");
            break;
        }
        Result<std::span<const int32_t>> step = generator.next(max_tokens - produced);
        if (!step.ok()) return fail(step.error());
        for (const int32_t next : step.value()) {
            ++produced;
            if (tok.vocab().is_end_of_generation(next)) {
                // A step ends at the end token, so every token before it is in the cache.
                if (last >= 0) out.evaluated.push_back(last);
                last = -1;
                ended = true;
                break;
            }
            if (last >= 0) out.evaluated.push_back(last);
            last = next;
            const std::string piece = decoder.push(next);
            out.text += piece;
            std::fputs(piece.c_str(), stdout);
        }
        std::fflush(stdout);
    }
    // The reply's last token is evaluated too, so the next turn follows the whole reply.
    if (!ended && last >= 0 && !generator.context_full()) {
        if (Status s = generator.commit_last(); !s.ok()) return fail(s.error());
        out.evaluated.push_back(last);
    }
    const std::string tail = decoder.flush();
    out.text += tail;
    std::fputs(tail.c_str(), stdout);
    std::printf("\n");
    return out;
}

}  // namespace

int run_chat(const ChatOptions& options) {
    Result<std::unique_ptr<SplitRun>> split = start_split(options.split);
    if (!split.ok()) return report_failure(split.error().message());
    const std::unique_ptr<SplitRun>& job = split.value();
    const int threads = thread_count(job, options.threads);
    const ModelRequest request = {.isa = options.isa, .threads = threads, .head = options.head, .packing = options.packing,
                                  .weights = options.weights, .activations = options.activations};
    Result<ChatModel> loaded = load_chat_model(options.model, for_this_rank(job, request), options.chat_template);
    if (const std::optional<int> done = settle_split(job, loaded, threads)) return *done;
    if (!loaded.ok()) return report_failure(loaded.error().message());
    const LoadedModel& lm = loaded.value().loaded;
    const tokenizer::Tokenizer& tok = loaded.value().tokenizer();
    const tokenizer::ChatTemplate chat_template = loaded.value().chat_template;
    ThreadPool pool(threads);
    const size_t n_ctx = options.n_ctx > 0 ? options.n_ctx : lm.model.hp.n_ctx_train;
    engine::InferenceSession session(lm.model, lm.kernels, pool, n_ctx, 1, options.kv_type, model_split_of(job));
    engine::Conversation conversation(session, tok, chat_template, options.system);
    Result<DraftSetup> draft = make_draft_setup(options.draft, lm, pool, n_ctx, request);
    if (!draft.ok()) return report_failure(draft.error().message());
    sampling::Sampler sampler(options.sampler);
    const bool interactive = isatty(STDIN_FILENO);
    const size_t reply_room = std::min(options.max_reply, n_ctx / 2);
    std::fprintf(stderr, "%s: %s; chat template '%s'; context %zu tokens. /reset starts over, /exit or Ctrl-D quits, "
                 "Ctrl-C stops a reply. When the context is full the conversation restarts from the system prompt.\n",
                 options.model.c_str(), describe(lm).c_str(), std::string(chat_template.name).c_str(), n_ctx);
    install_signal_handler(SIGINT, on_sigint);
    for (std::string line;;) {
        if (interactive) {
            std::printf("> ");
            std::fflush(stdout);
        }
        g_interrupted = 0;
        if (!std::getline(std::cin, line)) break;
        if (line == "/exit") break;
        if (line == "/reset") {
            if (Status s = conversation.reset(); !s.ok()) return report_failure(s.error().message());
            std::printf("[conversation reset]\n");
            continue;
        }
        if (line.empty()) continue;
        Result<bool> added = conversation.add_user_message(line, reply_room);
        if (!added.ok()) {
            std::fprintf(stderr, "tern: %s\n", added.error().message().c_str());
            continue;
        }
        if (added.value()) std::printf("[context full: the conversation restarted from the system prompt]\n");
        const std::optional<Reply> reply =
            generate_reply(session, conversation, tok, sampler, draft.value(), options.max_reply);
        if (!reply) return 1;
        if (Status s = conversation.end_reply(reply->text, reply->evaluated); !s.ok())
            return report_failure(s.error().message());
    }
    if (interactive) std::printf("\n");
    return 0;
}

}  // namespace tern::cli
