// `tern chat`: an interactive conversation in the terminal, through the public library
// (tern::Chat): replies stream as they are generated and earlier turns stay in the KV cache.
// Ctrl-C stops the current reply (not the program), Ctrl-D / EOF or /exit quits, /reset
// starts over.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/library_model.h"
#include "cli/signal_flag.h"

namespace tern::cli {
namespace {

// The one piece of process-wide state: a signal handler can only talk through a flag (a
// lock-free atomic is safe to set there).
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_sigint(int) { g_interrupted.store(true, std::memory_order_relaxed); }

// Streams one reply, after a note when the conversation had to restart to make room for it.
// False on an error (reported; the conversation goes on, as Chat::send leaves it).
bool reply(Chat& chat, const std::string& message, GenerateOptions options) {
    bool noted = false;
    const auto note_restart = [&] {
        if (!noted && chat.restarted()) std::printf("[context full: the conversation restarted from the system prompt]\n");
        noted = true;
    };
    options.on_text = [&](std::string_view piece) {
        note_restart();
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    };
    Result<Generation> out = chat.send(message, options);
    if (!out.ok()) {
        std::fprintf(stderr, "tern: %s\n", out.error().message().c_str());
        return false;
    }
    note_restart();
    if (out.value().finish == FinishReason::kCancelled) std::printf(" [stopped]");
    if (out.value().finish == FinishReason::kLength && out.value().generated_tokens < options.max_tokens)
        std::printf(" [context full]");
    std::printf("\n");
    return true;
}

}  // namespace

int run_chat(const ChatOptions& options) {
    LoadOptions load = load_options_from(options);
    load.context = options.n_ctx;
    load.chat_template = options.chat_template;
    Result<Model> loaded = load_for_command(options.model, load);
    if (!loaded.ok()) return report_failure(loaded.error().message());
    const Model& model = loaded.value();
    if (model.info().rank > 0) return follow_rank_zero(model);
    Result<Chat> started = model.new_chat({.system = options.system, .context = 0});
    if (!started.ok()) return report_failure(started.error().message());
    Chat& chat = started.value();
    Result<std::optional<Model>> draft_model = load_draft_model(options.draft, model, load);
    if (!draft_model.ok()) return report_failure(draft_model.error().message());
    GenerateOptions generate{.max_tokens = options.max_reply, .sampling = options.sampler};
    apply_draft(options.draft, draft_model.value(), generate);
    generate.cancel = &g_interrupted;
    const bool interactive = isatty(STDIN_FILENO);
    std::fprintf(stderr, "%s: %s; chat template '%s'; context %zu tokens. /reset starts over, /exit or Ctrl-D quits, "
                 "Ctrl-C stops a reply. When the context is full the conversation restarts from the system prompt.\n",
                 options.model.c_str(), model.info().description.c_str(), model.info().chat_template.c_str(),
                 chat.context());
    install_signal_handler(SIGINT, on_sigint);
    for (std::string line;;) {
        if (interactive) {
            std::printf("> ");
            std::fflush(stdout);
        }
        g_interrupted = false;
        if (!std::getline(std::cin, line)) break;
        if (line == "/exit") break;
        if (line == "/reset") {
            if (Status s = chat.reset(); !s.ok()) return report_failure(s.error().message());
            std::printf("[conversation reset]\n");
            continue;
        }
        if (line.empty()) continue;
        reply(chat, line, generate);
    }
    if (interactive) std::printf("\n");
    return 0;
}

}  // namespace tern::cli
