#include "engine/model_loading.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>

#include "core/cpu_info.h"
#include "core/mapped_file.h"
#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "engine/amx_prefill.h"
#include "format/gguf_reader.h"
#include "model/gguf_model_loader.h"
#include "model/hf_model_loader.h"
#include "model/synthetic_model.h"
#include "tokenizer/vocabulary_files.h"

namespace tern::engine {
namespace {

Result<const kernels::KernelTable*> kernels_for(const ModelRequest& request) {
    Result<kernels::Isa> isa = kernels::choose_isa(kernels::requested_isa(request.isa));
    if (!isa.ok()) return isa.error().within("--isa");
    Result<kernels::Packing> packing = kernels::parse_packing(request.packing);
    if (!packing.ok()) return packing.error().within("--packing");
    const kernels::KernelTable* table = kernels::kernel_table(isa.value(), packing.value());
    if (table != nullptr) return table;
    // Unforced, the best ISA may lack this packing (the multiplication-free avx512 kernels read
    // sign planes only): the best one that has it serves instead.
    if (kernels::requested_isa(request.isa).empty()) {
        const std::vector<kernels::Isa> isas = kernels::isas_supported_here();
        for (auto it = isas.rbegin(); it != isas.rend(); ++it)
            if ((table = kernels::kernel_table(*it, packing.value())) != nullptr) return table;
    }
    return Error(str_cat("--packing ", request.packing, ": the ", kernels::isa_name(isa.value()),
                         " kernels have no base3 form (scalar, avx2 and avx512vnni have; see --isa)"));
}

Result<model::LoadOptions> load_options(const kernels::KernelTable& table, const ModelRequest& request) {
    model::HeadConversion head = model::HeadConversion::kAuto;
    if (request.head == "q8_0") head = model::HeadConversion::kQ8_0;
    else if (request.head == "q4_0") head = model::HeadConversion::kQ4_0;
    else if (request.head == "q6_k") head = model::HeadConversion::kQ6_K;
    else if (request.head == "keep") head = model::HeadConversion::kKeep;
    else if (!request.head.empty() && request.head != "auto")
        return Error(str_cat("--head '", request.head, "' is not supported (auto, keep, q8_0, q6_k or q4_0)"));
    model::LoadOptions options{.layout = table.ternary_layout, .head = head, .threads = request.threads,
                               .progress = request.progress};
    options.keep_layer = request.keep_layer;
    options.keep_rows = request.keep_rows;
    if (request.weights == "fairy2i-w1" || request.weights == "fairy2i-w2")
        options.fairy2i_stages = request.weights == "fairy2i-w1" ? 1 : 2;
    else if (!request.weights.empty())
        return Error(str_cat("--weights '", request.weights, "' is not supported (fairy2i-w1 or fairy2i-w2)"));
    if (request.activations == "float")
        options.widely_linear_activations = model::WidelyLinearActivations::kFloat;
    else if (request.activations != "int8")
        return Error(str_cat("--activations '", request.activations, "' is not supported (int8 or float)"));
    return options;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string head_description(const model::Model& m) {
    const std::string file_type = format::ggml_type_name(static_cast<uint32_t>(m.output.type));
    if (m.recurrent()) return str_cat("ternary BitLinear (from ", file_type, ")");
    if (m.q8_head() && m.output.type != format::GgmlType::kQ8_0) return str_cat("Q8_0 (from ", m.tied_head ? "tied " : "", file_type, ")");
    if (m.q4_head() && m.output.type != format::GgmlType::kQ4_0) return str_cat("Q4_0 (from ", m.tied_head ? "tied " : "", file_type, ")");
    if (m.q6_k_head() && m.output.type != format::GgmlType::kQ6_K) return str_cat("Q6_K (from ", m.tied_head ? "tied " : "", file_type, ")");
    return str_cat(m.tied_head ? "tied " : "", file_type);
}

// A forced ISA (--isa, TERN_ISA) gets exactly its own kernels; otherwise the fastest of the
// tables sharing the layout, timed on this model with the threads the engine will use.
void choose_ternary_kernels(LoadedModel& loaded, const kernels::KernelTable& table, const ModelRequest& request) {
    if (!kernels::requested_isa(request.isa).empty()) {
        loaded.kernels = table;
        return;
    }
    // Complex and widely-linear kernels read one layout on every ISA: every table this CPU runs
    // is a candidate.
    const bool one_layout = loaded.model.complex() || loaded.model.widely_linear();
    const std::vector<const kernels::KernelTable*> candidates =
        one_layout ? kernels::tables_running_here(table, detect_cpu_info().features)
                   : kernels::tables_sharing_layout(table, detect_cpu_info().features);
    ThreadPool pool(std::max(request.threads, 1));
    TunedKernels tuned = autotune_ternary_kernels(candidates, loaded.model, pool);
    loaded.kernels = tuned.table;
    loaded.autotune = std::move(tuned.report);
    if (!one_layout) loaded.kernel_warning = enable_amx_prefill(loaded.kernels);
}

void attach_tokenizer(LoadedModel& loaded, Result<tokenizer::Tokenizer> tok) {
    if (tok.ok())
        loaded.tokenizer.emplace(std::move(tok).value());
    else
        loaded.tokenizer_problem = tok.error().message();
}

}  // namespace

Result<const tokenizer::Tokenizer*> LoadedModel::require_tokenizer() const {
    if (!tokenizer) return Error(str_cat(model.source, ": ", tokenizer_problem));
    return &*tokenizer;
}

Result<tokenizer::Tokenizer> load_tokenizer(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path p(path);
    if (std::filesystem::is_directory(p, ec) || p.extension() == ".json" || p.extension() == ".model") {
        TERN_ASSIGN_OR_RETURN(tokenizer::Vocabulary vocab, tokenizer::vocabulary_from_path(path));
        return tokenizer::Tokenizer::from_vocabulary(std::move(vocab));
    }
    TERN_ASSIGN_OR_RETURN(format::GgufFile file, format::GgufFile::open(path));
    Result<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::from_gguf(file.contents());
    if (!tok.ok()) return tok.error().within(path);
    return tok;
}

Result<LoadedModel> load_model(const std::string& path, const ModelRequest& request) {
    const auto start = std::chrono::steady_clock::now();
    LoadedModel loaded;
    TERN_ASSIGN_OR_RETURN(const kernels::KernelTable* table, kernels_for(request));
    TERN_ASSIGN_OR_RETURN(const model::LoadOptions options, load_options(*table, request));
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        TERN_ASSIGN_OR_RETURN(loaded.model, model::load_hf_model(path, options));
        Result<tokenizer::Vocabulary> vocab = tokenizer::vocabulary_from_path(path);
        if (vocab.ok())
            attach_tokenizer(loaded, tokenizer::Tokenizer::from_vocabulary(std::move(vocab).value()));
        else
            loaded.tokenizer_problem = vocab.error().message();
    } else {
        TERN_ASSIGN_OR_RETURN(loaded.model, model::load_gguf_model(path, options));
        TERN_ASSIGN_OR_RETURN(format::GgufFile file, format::GgufFile::open(path));
        attach_tokenizer(loaded, tokenizer::Tokenizer::from_gguf(file.contents()));
    }
    choose_ternary_kernels(loaded, *table, request);
    loaded.load_seconds = seconds_since(start);
    return loaded;
}

Result<LoadedModel> build_synthetic_model(const std::string& shape_name, const std::string& ternary_type,
                                         const ModelRequest& request) {
    const auto start = std::chrono::steady_clock::now();
    const model::SyntheticShape* shape = model::find_synthetic_shape(shape_name);
    if (shape == nullptr)
        return Error(str_cat("synthetic shape '", shape_name, "' is not known (", model::synthetic_shape_names(), ")"));
    const std::optional<format::GgmlType> type = format::ggml_type_from_name(ternary_type);
    if (!type) return Error(str_cat("--type '", ternary_type, "' is not a ggml type name"));
    LoadedModel loaded;
    TERN_ASSIGN_OR_RETURN(const kernels::KernelTable* table, kernels_for(request));
    const std::string name = str_cat("synthetic ", shape_name);
    TERN_ASSIGN_OR_RETURN(const model::LoadOptions options, load_options(*table, request));
    std::shared_ptr<std::vector<std::byte>> bytes;
    {   // the writer generates the tensors into the buffer and is gone before loading starts
        TERN_ASSIGN_OR_RETURN(format::GgufWriter writer,
                              model::synthetic_gguf(*shape, {.ternary_type = *type, .threads = std::max(request.threads, 1)}));
        bytes = std::make_shared<std::vector<std::byte>>(writer.write_to_buffer());
    }
    TERN_ASSIGN_OR_RETURN(format::GgufContents contents, format::parse_gguf(*bytes, "synthetic"));
    TERN_ASSIGN_OR_RETURN(loaded.model, model::load_gguf_model(contents, bytes, name, options));
    attach_tokenizer(loaded, tokenizer::Tokenizer::from_gguf(contents));
    choose_ternary_kernels(loaded, *table, request);
    loaded.load_seconds = seconds_since(start);
    return loaded;
}

std::string describe(const LoadedModel& loaded) {
    const model::Model& m = loaded.model;
    return str_cat(m.arch->name, ", ", m.hp.n_embd, " x ", m.hp.n_layer, " layers, vocab ", m.hp.n_vocab, ", ",
                   m.ternary_type, " ternary, ", head_description(m), " head, ",
                   static_cast<double>(m.file_bytes) / 1e6, " MB; kernels ", loaded.kernels.name,
                   loaded.autotune.gemv.empty() ? "" : str_cat(" (autotuned: ", loaded.autotune.summary(), ")"),
                   loaded.kernels.ternary_gemm_wide == nullptr ? ""
                                                               : str_cat("; AMX for ", kernels::kWideGemmTokens, "+ tokens"));
}

Result<PickedTemplate> pick_chat_template(std::string_view architecture, const tokenizer::Vocabulary& vocab,
                                          const std::string& requested) {
    if (!requested.empty()) {
        if (auto named = tokenizer::chat_template_by_name(requested)) return PickedTemplate{*named, {}};
        std::error_code ec;
        if (!std::filesystem::is_regular_file(requested, ec))
            return Error(str_cat("--chat-template '", requested, "' is neither a built-in format (",
                                 tokenizer::chat_template_names(), ") nor a Jinja template file"));
        TERN_ASSIGN_OR_RETURN(const std::string source, read_text_file(requested, size_t{4} << 20));
        Result<tokenizer::ChatTemplate> from_file = tokenizer::jinja_chat_template(source, vocab, "jinja file");
        if (!from_file.ok()) return from_file.error().within(requested);
        return PickedTemplate{std::move(from_file).value(), {}};
    }
    if (!vocab.chat_template.empty()) {
        Result<tokenizer::ChatTemplate> own = tokenizer::jinja_chat_template(vocab.chat_template, vocab, "the model's jinja");
        if (own.ok()) return PickedTemplate{std::move(own).value(), {}};
        const tokenizer::ChatTemplate fallback = tokenizer::choose_chat_template(architecture, vocab);
        return PickedTemplate{fallback, str_cat("the model's chat template is not usable (", own.error().message(),
                                                "); using the built-in '", fallback.name, "' format")};
    }
    return PickedTemplate{tokenizer::choose_chat_template(architecture, vocab), {}};
}

}  // namespace tern::engine
