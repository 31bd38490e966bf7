// tern::Model: loading, tokenizing, logits, perplexity and the benchmark (generation is in
// generate.cpp, sessions in session.cpp).
#include <algorithm>
#include <cstdio>

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

namespace {

struct LoadedState {
    engine::LoadedModel loaded;
    std::string path;   // or what was built, for ModelInfo::path
    std::optional<tokenizer::ChatTemplate> chat_template;
    std::string template_warning;
    std::string context_warning;
};

constexpr size_t kMaxContext = size_t{1} << 22;

// Reads or builds the weights for a request (this rank's share of them under a split).
using WeightSource = std::function<Result<LoadedState>(const engine::ModelRequest& request)>;

// The chat template and the context check: the rest of a load that can fail.
Status finish_loading(LoadedState& out, const LoadOptions& options) {
    const size_t trained = out.loaded.model.hp.n_ctx_train;
    if (options.context > kMaxContext)
        return Error(str_cat(out.path, ": context ", options.context, " is beyond ", kMaxContext, " tokens"));
    // As llama.cpp's -c allows: positions past the training context are extrapolated.
    if (options.context > trained)
        out.context_warning = str_cat("context ", options.context, " is more than the ", trained,
                                      " tokens the model was trained on; text past them may degrade");
    if (out.loaded.tokenizer || !options.chat_template.empty()) {
        TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, out.loaded.require_tokenizer());
        TERN_ASSIGN_OR_RETURN(engine::PickedTemplate picked,
                              engine::pick_chat_template(out.loaded.model.arch->name, tok->vocab(), options.chat_template));
        out.chat_template = std::move(picked.chat_template);
        out.template_warning = std::move(picked.warning);
    }
    return {};
}

Result<std::unique_ptr<engine::SplitJob>> join_split(const LoadOptions& options) {
    if (options.split.empty()) return std::unique_ptr<engine::SplitJob>();
    return engine::SplitJob::start(options.split, options.split_wait_seconds, "split");
}

// A model's shared state from its weights. Under a split every rank goes through everything
// that can fail before the ranks compare notes, so no rank waits for one that stopped early.
Result<std::shared_ptr<Model::State>> assemble(const LoadOptions& options, const WeightSource& weights) {
    if (options.threads < 0) return Error(str_cat("threads ", options.threads, " is negative"));
    TERN_ASSIGN_OR_RETURN(const kernels::KvType kv_type, parse_kv_type(options.kv_type));
    TERN_ASSIGN_OR_RETURN(std::unique_ptr<engine::SplitJob> job, join_split(options));
    const int threads = job ? job->threads(options.threads) : options.threads > 0 ? options.threads : default_threads();
    engine::ModelRequest request{.isa = options.isa, .threads = threads, .head = options.head,
                                 .packing = options.packing, .weights = options.weights,
                                 .activations = options.activations, .progress = {}};
    if (options.on_progress) request.progress = [&](size_t done, size_t total) { options.on_progress(done, total); };
    if (job) request = job->for_this_rank(std::move(request));
    Result<LoadedState> loaded = weights(request);
    if (loaded.ok()) {
        if (Status finished = finish_loading(loaded.value(), options); !finished.ok()) loaded = finished.error();
    }
    if (job) TERN_TRY(job->keep_share(loaded.ok() ? Status{} : Status(loaded.error()),
                                      loaded.ok() ? &loaded.value().loaded.model : nullptr));
    if (!loaded.ok()) return loaded.error();
    LoadedState& parts = loaded.value();
    auto state = std::make_shared<Model::State>(std::move(job), std::move(parts.loaded), threads);
    state->chat_template = std::move(parts.chat_template);
    state->kv_type = kv_type;
    state->context = options.context > 0 ? options.context : state->model().hp.n_ctx_train;
    state->info = describe_model(parts.path, *state, threads);
    if (!state->loaded.kernel_warning.empty()) state->info.warnings.push_back(state->loaded.kernel_warning);
    if (!parts.template_warning.empty()) state->info.warnings.push_back(parts.template_warning);
    if (!parts.context_warning.empty()) state->info.warnings.push_back(parts.context_warning);
    if (state->split) {
        state->info.split = options.split;
        state->info.rank = state->split->rank();
        state->info.ranks = state->split->ranks();
    }
    return state;
}

}  // namespace

Result<Model> Model::load(const std::string& source, const LoadOptions& options) {
    hub::ProgressCallback progress;
    if (options.on_download || options.on_download_wait || options.cancel != nullptr)
        progress = [&](const hub::DownloadProgress& p) {
            if (p.waiting && options.on_download_wait) options.on_download_wait(p.path);
            if (!p.waiting && options.on_download) options.on_download(p.path, p.done, p.total);
            return options.cancel == nullptr || !options.cancel->load();
        };
    TERN_ASSIGN_OR_RETURN(std::shared_ptr<State> state,
                          assemble(options, [&](const engine::ModelRequest& request) -> Result<LoadedState> {
                              TERN_ASSIGN_OR_RETURN(std::string path,
                                                    hub::local_model_path(source, options.revision, progress));
                              TERN_ASSIGN_OR_RETURN(engine::LoadedModel loaded, engine::load_model(path, request));
                              return LoadedState{.loaded = std::move(loaded), .path = std::move(path),
                                                 .chat_template = {}, .template_warning = {}, .context_warning = {}};
                          }));
    return Model(std::move(state));
}

Result<Model> Model::synthetic(const std::string& shape, const std::string& ternary_type, const LoadOptions& options) {
    TERN_ASSIGN_OR_RETURN(std::shared_ptr<State> state,
                          assemble(options, [&](const engine::ModelRequest& request) -> Result<LoadedState> {
                              TERN_ASSIGN_OR_RETURN(engine::LoadedModel loaded,
                                                    engine::build_synthetic_model(shape, ternary_type, request));
                              return LoadedState{.loaded = std::move(loaded), .path = "synthetic " + shape,
                                                 .chat_template = {}, .template_warning = {}, .context_warning = {}};
                          }));
    return Model(std::move(state));
}

Status Model::State::on_leader(std::string_view call) const {
    if (split && !split->leader())
        return Error(str_cat(call, ": rank ", split->rank(), " of a split only follows rank 0 (call follow())"));
    return {};
}

Status Model::follow() const {
    if (!state_->split) return Error("follow: the model is not split (LoadOptions::split)");
    if (state_->split->leader()) return Error("follow: rank 0 leads; only the other ranks follow");
    std::lock_guard lock(state_->compute);
    const Status followed = state_->split->follow(state_->loaded, state_->pool);
    if (followed.ok()) return {};
    std::fprintf(stderr, "tern: rank %zu: %s\n", state_->split->rank(), followed.error().message().c_str());
    state_->split->abort(1);
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
    TERN_TRY(state_->on_leader("logits"));
    if (ids.empty()) return Error("logits: no token ids given");
    if (ids.size() > state_->context)
        return Error(str_cat("logits: ", ids.size(), " tokens exceed the context of ", state_->context));
    std::lock_guard lock(state_->compute);
    engine::InferenceSession session(state_->model(), state_->loaded.kernels, state_->pool, ids.size(), 1,
                                     state_->kv_type, state_->model_split());
    TERN_TRY(session.evaluate(ids, all_tokens));
    const std::span<const float> out = all_tokens ? session.logits() : session.last_logits();
    return std::vector<float>(out.begin(), out.end());
}

namespace {

Perplexity public_perplexity(const engine::PerplexityResult& r, size_t text_tokens) {
    return Perplexity{.perplexity = r.perplexity, .uncertainty = r.uncertainty, .chunks = r.chunks,
                      .scored_tokens = r.scored_tokens, .text_tokens = text_tokens};
}

}  // namespace

Result<Perplexity> Model::perplexity(std::string_view text, const PerplexityOptions& options,
                                     const std::function<void(const Perplexity& so_far)>& on_chunk) const {
    TERN_TRY(state_->on_leader("perplexity"));
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state_->tokenizer());
    const size_t window = std::min(options.window, state_->context);
    if (window < 2) return Error(str_cat("perplexity: a window of ", window, " tokens is too short (at least 2)"));
    const std::vector<int32_t> tokens = tok->encode(text, /*add_special=*/true, /*parse_special=*/false);
    const size_t chunks = engine::perplexity_chunks(tokens.size(), window, options.max_chunks);
    if (options.on_start && chunks > 0) options.on_start(tokens.size(), chunks);
    const tokenizer::Vocabulary& vocab = tok->vocab();
    std::lock_guard lock(state_->compute);
    engine::InferenceSession session(state_->model(), state_->loaded.kernels, state_->pool, window, 1,
                                     state_->kv_type, state_->model_split());
    std::function<void(const engine::PerplexityResult&)> on_engine_chunk;
    if (on_chunk)
        on_engine_chunk = [&](const engine::PerplexityResult& r) { on_chunk(public_perplexity(r, tokens.size())); };
    Result<engine::PerplexityResult> result = engine::compute_perplexity(
        session, tokens, window, vocab.add_bos ? vocab.bos : -1, options.max_chunks, on_engine_chunk);
    if (!result.ok()) return result.error().within("perplexity");
    return public_perplexity(result.value(), tokens.size());
}

Result<std::string> Model::benchmark(const BenchmarkOptions& options) const {
    TERN_TRY(state_->on_leader("benchmark"));
    if (options.repetitions < 1) return Error(str_cat("benchmark: repetitions ", options.repetitions, " is below 1"));
    for (const int t : options.threads)
        if (t < 1) return Error(str_cat("benchmark: thread count ", t, " is below 1"));
    for (const size_t n : options.sequences)
        if (n < 1 || n > 64) return Error(str_cat("benchmark: ", n, " sequences is outside 1-64"));
    for (const size_t depth : options.depths)
        if (depth > (size_t{1} << 20)) return Error(str_cat("benchmark: depth ", depth, " is beyond 1048576 tokens"));
    if (options.sequences.empty() || options.depths.empty())
        return Error("benchmark: sequences and depths need at least one value each");
    // The followers keep one pool for the whole job.
    if (state_->split && options.threads.size() > 1)
        return Error("benchmark: a split model keeps one thread count for the whole run");
    engine::ModelBenchOptions bench{
        .threads = options.threads.empty() ? std::vector<int>{state_->pool.size()} : options.threads,
        .n_prompt = options.prompt_tokens, .n_gen = options.generate_tokens, .sequences = options.sequences,
        .depths = options.depths, .repetitions = options.repetitions, .kv_type = state_->kv_type,
        .split = state_->model_split()};
    engine::ModelBenchProgress progress;
    if (options.on_test) progress = [&](const std::string& test, int threads) { options.on_test(test, threads); };
    std::lock_guard lock(state_->compute);   // the benchmark's own pools must not share the cores
    const engine::ModelBenchReport report =
        engine::run_model_benchmark(state_->model(), state_->loaded.kernels, bench, progress);
    nlohmann::json j = engine::model_report_json(state_->loaded, report);
    if (state_->split) j["split"] = {{"kind", state_->info.split}, {"ranks", state_->info.ranks}};
    return j.dump(2);
}

Result<Session> Model::new_session(size_t context) const {
    TERN_TRY(state_->on_leader("new_session"));
    if (context > state_->context)
        return Error(str_cat("session: context ", context, " exceeds the model's ", state_->context, " tokens"));
    return Session::create(state_, context > 0 ? context : state_->context);
}

}  // namespace tern
