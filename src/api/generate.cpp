// tern::Model::generate and chat: a fresh sequence sized to the prompt plus the reply, decoded
// token by token (or several at once with a drafter), streamed as text, cut at stop strings.
#include <chrono>
#include <memory>

#include "api/model_state.h"
#include "core/str_cat.h"
#include "engine/inference_session.h"
#include "engine/prompt_lookup_drafter.h"
#include "engine/speculative_generator.h"
#include "sampling/sampler.h"
#include "sampling/stop_matcher.h"
#include "tokenizer/chat_template.h"

namespace tern {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

sampling::SamplerOptions sampler_options(const SamplingOptions& s) {
    sampling::SamplerOptions o;
    o.temperature = s.temperature;
    o.top_k = s.top_k;
    o.top_p = s.top_p;
    o.min_p = s.min_p;
    o.repeat_penalty = s.repeat_penalty;
    o.seed = s.seed;
    return o;
}

Result<std::unique_ptr<engine::Drafter>> make_drafter(const std::string& name) {
    if (name.empty()) return std::unique_ptr<engine::Drafter>();
    if (name == "ngram") return std::unique_ptr<engine::Drafter>(std::make_unique<engine::PromptLookupDrafter>());
    return Error(str_cat("draft '", name, "' is not supported (\"\" or \"ngram\")"));
}

// Text as it forms (held back while it could begin a stop string) and the caller's callback.
class TextSink {
public:
    TextSink(const Model::State& state, const GenerateOptions& options, Generation& out)
        : options_(options), out_(out), stops_(options.stop) {
        if (state.loaded.tokenizer) decoder_.emplace(*state.loaded.tokenizer);
    }
    // False when the generation must end here (a stop string, or the callback said so).
    bool push(int32_t token) {
        out_.tokens.push_back(token);
        return !decoder_ || show(stops_.push(decoder_->push(token)));
    }
    void finish() {
        if (decoder_ && !stops_.stopped()) show(stops_.push(decoder_->flush()) + stops_.flush());
    }
    bool stopped() const { return stops_.stopped(); }

private:
    bool show(const std::string& text) {
        out_.text += text;
        if (!text.empty() && options_.on_text && !options_.on_text(text)) {
            out_.finish = FinishReason::kCancelled;
            return false;
        }
        return !stops_.stopped();
    }

    const GenerateOptions& options_;
    Generation& out_;
    sampling::StopMatcher stops_;
    std::optional<tokenizer::StreamingDecoder> decoder_;
};

bool cancelled(const GenerateOptions& options) {
    return options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed);
}

Result<Generation> generate_from(Model::State& state, std::span<const int32_t> prompt, const GenerateOptions& options) {
    if (prompt.empty()) return Error("generate: the prompt is empty");
    if (prompt.size() >= state.context)
        return Error(str_cat("generate: the prompt (", prompt.size(), " tokens) leaves no room in the context of ",
                             state.context, " tokens"));
    TERN_ASSIGN_OR_RETURN(std::unique_ptr<engine::Drafter> drafter, make_drafter(options.draft));
    Generation out;
    out.prompt_tokens = prompt.size();
    std::lock_guard lock(state.compute);
    // Sized for this call: a short reply does not allocate the model's whole context.
    const size_t n_ctx = std::min(state.context, prompt.size() + std::max<size_t>(options.max_tokens, 1));
    engine::InferenceSession session(state.model(), state.loaded.kernels, state.pool, n_ctx, 1, state.kv_type);
    const auto prompt_start = std::chrono::steady_clock::now();
    TERN_TRY(session.evaluate(prompt));
    out.prompt_seconds = seconds_since(prompt_start);

    const auto generate_start = std::chrono::steady_clock::now();
    sampling::Sampler sampler(sampler_options(options.sampling));
    engine::SpeculativeOptions speculative;
    const tokenizer::Vocabulary* vocab = state.loaded.tokenizer ? &state.loaded.tokenizer->vocab() : nullptr;
    if (vocab != nullptr) speculative.ends_generation = [vocab](int32_t id) { return vocab->is_end_of_generation(id); };
    engine::SpeculativeGenerator generator(session, sampler, drafter.get(), prompt, 0, speculative);
    TextSink sink(state, options, out);
    out.finish = FinishReason::kLength;
    bool ended = false;
    while (!ended && out.generated_tokens < options.max_tokens) {
        if (cancelled(options)) {
            out.finish = FinishReason::kCancelled;
            break;
        }
        if (generator.context_full()) break;
        TERN_ASSIGN_OR_RETURN(const std::span<const int32_t> step, generator.next(options.max_tokens - out.generated_tokens));
        for (const int32_t token : step) {
            if (vocab != nullptr && vocab->is_end_of_generation(token)) {
                out.finish = FinishReason::kStop;
                ended = true;
                break;
            }
            ++out.generated_tokens;
            if (!sink.push(token)) {
                if (sink.stopped()) out.finish = FinishReason::kStop;
                ended = true;
                break;
            }
        }
    }
    if (out.finish != FinishReason::kCancelled) sink.finish();
    out.generate_seconds = seconds_since(generate_start);
    return out;
}

Result<tokenizer::ChatMessage::Role> parse_role(const std::string& role, size_t index) {
    if (const auto known = tokenizer::chat_role_from_name(role)) return *known;
    return Error(str_cat("chat: message ", index, " has role '", role, "' (", tokenizer::kChatRoleNames, ")"));
}

}  // namespace

std::string_view finish_reason_name(FinishReason reason) {
    switch (reason) {
        case FinishReason::kStop: return "stop";
        case FinishReason::kLength: return "length";
        case FinishReason::kCancelled: return "cancelled";
    }
    return "unknown";
}

Result<Generation> Model::generate(std::string_view prompt, const GenerateOptions& options) const {
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state_->tokenizer());
    const std::vector<int32_t> ids = tok->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
    return generate_from(*state_, ids, options);
}

Result<Generation> Model::generate(std::span<const int32_t> prompt_ids, const GenerateOptions& options) const {
    const size_t n_vocab = state_->model().hp.n_vocab;
    for (size_t i = 0; i < prompt_ids.size(); ++i)
        if (prompt_ids[i] < 0 || static_cast<size_t>(prompt_ids[i]) >= n_vocab)
            return Error(str_cat("generate: token ", i, " is id ", prompt_ids[i], ", outside the vocabulary of ", n_vocab));
    return generate_from(*state_, prompt_ids, options);
}

Result<Generation> Model::chat(std::span<const ChatMessage> messages, const GenerateOptions& options) const {
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state_->tokenizer());
    if (messages.empty()) return Error("chat: no messages");
    std::vector<tokenizer::ChatMessage> conversation;
    for (size_t i = 0; i < messages.size(); ++i) {
        TERN_ASSIGN_OR_RETURN(const tokenizer::ChatMessage::Role role, parse_role(messages[i].role, i));
        conversation.push_back({role, messages[i].content});
    }
    Result<std::vector<tokenizer::ChatSegment>> segments = state_->chat_template->conversation(conversation);
    if (!segments.ok()) return segments.error().within("chat");
    const std::vector<int32_t> ids = tokenizer::encode_segments(*tok, segments.value(), /*add_bos=*/true);
    return generate_from(*state_, ids, options);
}

}  // namespace tern
