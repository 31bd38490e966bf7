// tern::Model: loading, tokenizing, logits, perplexity and the benchmark (generation is in
// generate.cpp, sessions in session.cpp).
#include <algorithm>

#include "api/generation_parts.h"
#include "api/model_state.h"
#include "core/cpu_info.h"
#include "core/str_cat.h"
#include "engine/benchmark_json.h"
#include "engine/inference_session.h"
#include "engine/model_benchmark.h"
#include "engine/perplexity.h"
#include "hub/pull.h"

namespace tern {
namespace {

Result<kernels::KvType> parse_kv_type(const std::string& name) {
    if (name == "f32") return kernels::KvType::kF32;
    if (name == "f16") return kernels::KvType::kF16;
    return Error(str_cat("kv_type '", name, "' is not supported (f32 or f16)"));
}

int default_threads() { return std::max(1, detect_cpu_info().usable_cpus); }

ModelInfo describe_model(const std::string& path, const Model::State& state, int threads) {
    const engine::LoadedModel& lm = state.loaded;
    const model::Hparams& hp = lm.model.hp;
    return ModelInfo{.path = path, .architecture = std::string(lm.model.arch->name),
                     .description = engine::describe(lm), .kernels = std::string(lm.kernels.name),
                     .n_vocab = hp.n_vocab, .n_embd = hp.n_embd, .n_layers = hp.n_layer, .n_ctx_train = hp.n_ctx_train,
                     .context = state.context, .file_bytes = lm.model.file_bytes, .threads = threads,
                     .has_tokenizer = lm.tokenizer.has_value(),
                     .chat_template = state.chat_template ? std::string(state.chat_template->name) : std::string(),
                     .load_seconds = lm.load_seconds};
}

}  // namespace

Result<Model> Model::load(const std::string& source, const LoadOptions& options) {
    if (options.threads < 0) return Error(str_cat("threads ", options.threads, " is negative"));
    hub::ProgressCallback progress;
    if (options.on_download || options.cancel != nullptr)
        progress = [&](const hub::DownloadProgress& p) {
            if (options.on_download) options.on_download(p.path, p.done, p.total);
            return options.cancel == nullptr || !options.cancel->load();
        };
    TERN_ASSIGN_OR_RETURN(const std::string path, hub::local_model_path(source, options.revision, progress));
    const int threads = options.threads > 0 ? options.threads : default_threads();
    TERN_ASSIGN_OR_RETURN(const kernels::KvType kv_type, parse_kv_type(options.kv_type));
    const engine::ModelRequest request{.isa = options.isa, .threads = threads, .head = options.head,
                                       .packing = options.packing, .weights = options.weights,
                                       .activations = options.activations, .progress = {}};
    TERN_ASSIGN_OR_RETURN(engine::LoadedModel loaded, engine::load_model(path, request));
    const size_t trained = loaded.model.hp.n_ctx_train;
    if (options.context > trained)
        return Error(str_cat(path, ": context ", options.context, " exceeds the model's ", trained, " tokens"));
    std::optional<tokenizer::ChatTemplate> chat_template;
    if (loaded.tokenizer || !options.chat_template.empty()) {
        TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, loaded.require_tokenizer());
        TERN_ASSIGN_OR_RETURN(engine::PickedTemplate picked,
                              engine::pick_chat_template(loaded.model.arch->name, tok->vocab(), options.chat_template));
        chat_template = std::move(picked.chat_template);
    }
    auto state = std::make_shared<State>(std::move(loaded), threads);
    state->chat_template = std::move(chat_template);
    state->kv_type = kv_type;
    state->context = options.context > 0 ? options.context : trained;
    state->info = describe_model(path, *state, threads);
    return Model(std::move(state));
}

const ModelInfo& Model::info() const { return state_->info; }

Result<std::vector<int32_t>> Model::tokenize(std::string_view text, bool add_special, bool parse_special) const {
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state_->tokenizer());
    return tok->encode(text, add_special, parse_special);
}

Result<std::string> Model::detokenize(std::span<const int32_t> ids) const {
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state_->tokenizer());
    TERN_TRY(api::check_token_ids(ids, state_->model().hp.n_vocab));
    return tok->decode(ids);
}

Result<std::vector<float>> Model::logits(std::span<const int32_t> ids, bool all_tokens) const {
    if (ids.empty()) return Error("logits: no token ids given");
    if (ids.size() > state_->context)
        return Error(str_cat("logits: ", ids.size(), " tokens exceed the context of ", state_->context));
    std::lock_guard lock(state_->compute);
    engine::InferenceSession session(state_->model(), state_->loaded.kernels, state_->pool, ids.size(), 1,
                                     state_->kv_type);
    TERN_TRY(session.evaluate(ids, all_tokens));
    const std::span<const float> out = all_tokens ? session.logits() : session.last_logits();
    return std::vector<float>(out.begin(), out.end());
}

Result<Perplexity> Model::perplexity(std::string_view text, const PerplexityOptions& options) const {
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state_->tokenizer());
    const size_t window = std::min(options.window, state_->context);
    if (window < 2) return Error(str_cat("perplexity: a window of ", window, " tokens is too short (at least 2)"));
    const std::vector<int32_t> tokens = tok->encode(text, /*add_special=*/true, /*parse_special=*/false);
    const tokenizer::Vocabulary& vocab = tok->vocab();
    std::lock_guard lock(state_->compute);
    engine::InferenceSession session(state_->model(), state_->loaded.kernels, state_->pool, window, 1,
                                     state_->kv_type);
    Result<engine::PerplexityResult> result = engine::compute_perplexity(
        session, tokens, window, vocab.add_bos ? vocab.bos : -1, options.max_chunks, {});
    if (!result.ok()) return result.error().within("perplexity");
    const engine::PerplexityResult& r = result.value();
    return Perplexity{.perplexity = r.perplexity, .uncertainty = r.uncertainty, .chunks = r.chunks,
                      .scored_tokens = r.scored_tokens};
}

Result<std::string> Model::benchmark(const BenchmarkOptions& options) const {
    if (options.repetitions < 1) return Error(str_cat("benchmark: repetitions ", options.repetitions, " is below 1"));
    for (const int t : options.threads)
        if (t < 1) return Error(str_cat("benchmark: thread count ", t, " is below 1"));
    engine::ModelBenchOptions bench{
        .threads = options.threads.empty() ? std::vector<int>{state_->pool.size()} : options.threads,
        .n_prompt = options.prompt_tokens, .n_gen = options.generate_tokens, .sequences = {1}, .depths = {0},
        .repetitions = options.repetitions, .kv_type = state_->kv_type};
    std::lock_guard lock(state_->compute);   // the benchmark's own pools must not share the cores
    const engine::ModelBenchReport report =
        engine::run_model_benchmark(state_->model(), state_->loaded.kernels, bench, {});
    return engine::model_report_json(state_->loaded, report).dump(2);
}

Result<Session> Model::new_session(size_t context) const {
    if (context > state_->context)
        return Error(str_cat("session: context ", context, " exceeds the model's ", state_->context, " tokens"));
    return Session::create(state_, context > 0 ? context : state_->context);
}

}  // namespace tern
