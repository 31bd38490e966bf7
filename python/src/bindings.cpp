// tern._tern: the C++ library (include/tern/) for Python. The friendlier surface, with
// docstrings, keyword defaults and streaming, is python/tern/__init__.py; this file converts
// types, releases the GIL while tern computes, and turns every tern error into tern.Error.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "tern/tern.h"

namespace py = pybind11;

namespace tern::python {
namespace {

// Raised as tern.Error (registered below) with tern's one-line message.
class TernError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

template <class T>
T value_or_raise(Result<T> result) {
    if (!result.ok()) throw TernError(result.error().message());
    return std::move(result).value();
}

// Set from Python (a generator being closed, Ctrl-C) to stop a generation on another thread.
struct CancelToken {
    std::atomic<bool> cancelled{false};
};

py::dict info_dict(const ModelInfo& info) {
    py::dict d;
    d["path"] = info.path;
    d["architecture"] = info.architecture;
    d["description"] = info.description;
    d["kernels"] = info.kernels;
    d["n_vocab"] = info.n_vocab;
    d["n_embd"] = info.n_embd;
    d["n_layers"] = info.n_layers;
    d["n_ctx_train"] = info.n_ctx_train;
    d["context"] = info.context;
    d["file_bytes"] = info.file_bytes;
    d["threads"] = info.threads;
    d["has_tokenizer"] = info.has_tokenizer;
    d["chat_template"] = info.chat_template;
    d["load_seconds"] = info.load_seconds;
    d["warnings"] = info.warnings;
    return d;
}

py::dict generation_dict(const Generation& g) {
    py::dict d;
    d["text"] = g.text;
    d["tokens"] = g.tokens;
    d["finish_reason"] = std::string(finish_reason_name(g.finish));
    d["prompt_tokens"] = g.prompt_tokens;
    d["generated_tokens"] = g.generated_tokens;
    d["prompt_seconds"] = g.prompt_seconds;
    d["generate_seconds"] = g.generate_seconds;
    d["draft_tokens"] = g.draft_tokens;
    d["accepted_tokens"] = g.accepted_tokens;
    d["steps"] = g.steps;
    return d;
}

// Python's keyword arguments of generate() and chat() (tern/__init__.py fills them in).
GenerateOptions generate_options(const py::kwargs& kw) {
    GenerateOptions o;
    o.max_tokens = kw["max_tokens"].cast<size_t>();
    o.sampling = {.temperature = kw["temperature"].cast<float>(), .top_k = kw["top_k"].cast<int>(),
                  .top_p = kw["top_p"].cast<float>(), .min_p = kw["min_p"].cast<float>(),
                  .repeat_penalty = kw["repeat_penalty"].cast<float>(),
                  .frequency_penalty = kw["frequency_penalty"].cast<float>(),
                  .presence_penalty = kw["presence_penalty"].cast<float>(),
                  .penalty_last_n = kw["penalty_last_n"].cast<int>(), .typical_p = kw["typical_p"].cast<float>(),
                  .logit_bias = kw["logit_bias"].cast<std::map<int32_t, float>>(), .seed = kw["seed"].cast<uint64_t>()};
    o.echo = kw["echo"].cast<bool>();
    o.stop = kw["stop"].cast<std::vector<std::string>>();
    o.draft = kw["draft"].cast<std::string>();
    o.draft_model = kw["draft_model"].is_none() ? nullptr : kw["draft_model"].cast<const Model*>();
    o.max_draft = kw["max_draft"].cast<size_t>();
    o.adapt_draft = kw["adapt_draft"].cast<bool>();
    return o;
}

using Prompt = std::variant<std::string, std::vector<int32_t>>;
using TextCallback = std::optional<std::function<bool(std::string)>>;

// Python errors (a signal, an exception in a callback) are kept here and raised after tern
// returns: nothing Python throws crosses the engine.
class PythonFailure {
public:
    // Runs `call` with the GIL; false (stop) when it raised or a signal is pending.
    // After a failure nothing more runs (the first error is the one raised).
    template <class Call>
    bool guard(Call call) {
        if (failed()) return false;
        py::gil_scoped_acquire gil;
        try {
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            return call();
        } catch (py::error_already_set& e) {
            failure_.emplace(std::move(e));
            return false;
        }
    }
    bool failed() const { return failure_.has_value(); }
    void raise_if_any() {
        if (failure_) throw std::move(*failure_);
    }

private:
    std::optional<py::error_already_set> failure_;
};

// Runs a generation without the GIL. Each piece of text goes to `on_text` (with the GIL), and
// a pending signal (Ctrl-C) stops the generation and is raised once the model is free again.
template <class Run>
py::dict run_generation(Run run, GenerateOptions options, const TextCallback& on_text, CancelToken* cancel) {
    PythonFailure failure;
    options.cancel = cancel != nullptr ? &cancel->cancelled : nullptr;
    options.on_text = [&](std::string_view piece) {
        return failure.guard([&] { return on_text ? (*on_text)(std::string(piece)) : true; });
    };
    std::optional<Result<Generation>> out;
    {
        py::gil_scoped_release released;
        out.emplace(run(options));
    }
    failure.raise_if_any();
    return generation_dict(value_or_raise(std::move(*out)));
}

// generate_batch: pieces go to on_text(index, piece); a signal stops every prompt.
py::list run_batch(const Model& model, const std::vector<std::string>& prompts, GenerateOptions options,
                   const std::optional<std::function<bool(size_t, std::string)>>& on_text) {
    PythonFailure failure;
    std::atomic<bool> interrupted{false};
    options.cancel = &interrupted;
    const auto each_piece = [&](size_t index, std::string_view piece) {
        const bool go_on = failure.guard([&] { return on_text ? (*on_text)(index, std::string(piece)) : true; });
        if (failure.failed()) interrupted.store(true);
        return go_on;
    };
    std::optional<Result<std::vector<Generation>>> out;
    {
        py::gil_scoped_release released;
        out.emplace(model.generate_batch(prompts, options, each_piece));
    }
    failure.raise_if_any();
    py::list results;
    for (const Generation& g : value_or_raise(std::move(*out))) results.append(generation_dict(g));
    return results;
}

std::vector<ChatMessage> chat_messages(const py::list& messages) {
    std::vector<ChatMessage> out;
    for (size_t i = 0; i < messages.size(); ++i) {
        const py::handle item = messages[i];
        if (!py::isinstance<py::dict>(item))
            throw TernError("chat: message " + std::to_string(i) + " is not a dict with 'role' and 'content'");
        const py::dict message = item.cast<py::dict>();
        if (!message.contains("role") || !message.contains("content"))
            throw TernError("chat: message " + std::to_string(i) + " lacks 'role' or 'content'");
        out.push_back({py::str(message["role"]).cast<std::string>(), py::str(message["content"]).cast<std::string>()});
    }
    return out;
}

// A float32 array over the vector's memory; the array owns the vector (no copy).
py::array_t<float> as_array(std::vector<float> values, std::vector<py::ssize_t> shape) {
    auto* owned = new std::vector<float>(std::move(values));
    py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<float>*>(p); });
    return py::array_t<float>(shape, owned->data(), owner);
}

py::dict system_info_dict() {
    const SystemInfo info = system_info();
    py::dict d;
    d["version"] = info.version;
    d["cpu"] = info.cpu;
    d["architecture"] = info.architecture;
    d["features"] = info.features;
    d["logical_cpus"] = info.logical_cpus;
    d["usable_cpus"] = info.usable_cpus;
    d["kernels"] = info.kernels;
    d["best_kernels"] = info.best_kernels;
    d["amx_prefill"] = info.amx_prefill;
    d["physical_cores"] = info.physical_cores;
    d["caches"] = info.caches;
    d["isa_override"] = info.isa_override;
    d["isa_error"] = info.isa_error;
    d["autotuned_kernels"] = info.autotuned_kernels;
    d["autotuned_complex_kernels"] = info.autotuned_complex_kernels;
    d["mpi"] = info.mpi;
    d["mpi_version"] = info.mpi_version;
    return d;
}

std::string benchmark_kernels_json(std::vector<std::string> isas, std::vector<int> threads, size_t gemm_tokens, bool head,
                                   bool complex, double seconds_per_point, size_t stream_mb) {
    const KernelBenchmarkOptions options{.isas = std::move(isas), .threads = std::move(threads), .gemm_tokens = gemm_tokens,
                                         .head = head, .complex = complex, .seconds_per_point = seconds_per_point,
                                         .stream_mb = stream_mb, .on_point = {}};
    Result<std::string> report = [&] {
        py::gil_scoped_release released;
        return benchmark_kernels(options);
    }();
    return value_or_raise(std::move(report));
}

}  // namespace
}  // namespace tern::python

PYBIND11_MODULE(_tern, m) {
    using namespace tern;
    using namespace tern::python;
    m.doc() = "tern's C++ library; use the tern package, not this module";
    py::register_exception<TernError>(m, "Error");
    m.attr("__version__") = kVersion;
    m.def("system_info", &system_info_dict);
    m.def("benchmark_kernels", &benchmark_kernels_json, py::arg("isas"), py::arg("threads"), py::arg("gemm_tokens"),
          py::arg("head"), py::arg("complex"), py::arg("seconds_per_point"), py::arg("stream_mb"));

    py::class_<Tokenizer>(m, "Tokenizer")
        .def_static(
            "load",
            [](const std::string& path, const std::string& revision) {
                std::optional<Result<Tokenizer>> tok;
                {
                    py::gil_scoped_release released;
                    tok.emplace(Tokenizer::load(path, {.revision = revision, .on_download = {}}));
                }
                return value_or_raise(std::move(*tok));
            },
            py::arg("path"), py::arg("revision") = "main")
        .def("encode", &Tokenizer::encode, py::arg("text"), py::arg("add_special") = true, py::arg("parse_special") = false)
        .def(
            "decode", [](const Tokenizer& tok, const std::vector<int32_t>& ids) { return value_or_raise(tok.decode(ids)); },
            py::arg("ids"))
        .def(
            "piece", [](const Tokenizer& tok, int32_t id, bool special) { return value_or_raise(tok.piece(id, special)); },
            py::arg("id"), py::arg("special") = true)
        .def_property_readonly("vocab_size", &Tokenizer::vocab_size);

    py::class_<CancelToken>(m, "CancelToken")
        .def(py::init<>())
        .def("cancel", [](CancelToken& t) { t.cancelled.store(true); })
        .def_property_readonly("cancelled", [](const CancelToken& t) { return t.cancelled.load(); });

    py::class_<Chat>(m, "Chat")
        .def(
            "send",
            [](Chat& chat, const std::string& message, const TextCallback& on_text, CancelToken* cancel,
               const py::kwargs& kw) {
                return run_generation([&](const GenerateOptions& o) { return chat.send(message, o); },
                                      generate_options(kw), on_text, cancel);
            },
            py::arg("message"), py::arg("on_text") = py::none(), py::arg("cancel") = py::none())
        .def("reset",
             [](Chat& chat) {
                 Status reset;
                 {
                     py::gil_scoped_release released;
                     reset = chat.reset();
                 }
                 if (!reset.ok()) throw TernError(reset.error().message());
             })
        .def_property_readonly("restarted", &Chat::restarted)
        .def_property_readonly("size", &Chat::size)
        .def_property_readonly("context", &Chat::context);

    py::class_<Model>(m, "Model")
        .def_static(
            "load",
            [](const std::string& path, int threads, size_t context, std::string isa, std::string head,
               std::string packing, std::string weights, std::string activations, std::string kv_type,
               std::string chat_template, std::string revision,
               const std::optional<std::function<void(std::string, uint64_t, uint64_t)>>& on_download) {
                LoadOptions options{.threads = threads, .context = context, .isa = std::move(isa),
                                    .head = std::move(head), .packing = std::move(packing),
                                    .weights = std::move(weights), .activations = std::move(activations),
                                    .kv_type = std::move(kv_type), .chat_template = std::move(chat_template),
                                    .revision = std::move(revision)};
                // A Python error in the callback, or Ctrl-C, stops a Hub download (the partial
                // file stays for a resume) and is raised after load() returns.
                PythonFailure failure;
                std::atomic<bool> stop{false};
                options.cancel = &stop;
                options.on_download = [&](std::string_view file, uint64_t done, uint64_t total) {
                    const bool go_on = failure.guard([&] {
                        if (on_download) (*on_download)(std::string(file), done, total);
                        return true;
                    });
                    if (!go_on) stop = true;
                };
                std::optional<Result<Model>> model;
                {
                    py::gil_scoped_release released;
                    model.emplace(Model::load(path, options));
                }
                failure.raise_if_any();
                return value_or_raise(std::move(*model));
            },
            py::arg("path"), py::arg("threads") = 0, py::arg("context") = 0, py::arg("isa") = "",
            py::arg("head") = "", py::arg("packing") = "2bit", py::arg("weights") = "", py::arg("activations") = "int8",
            py::arg("kv_type") = "f32", py::arg("chat_template") = "", py::arg("revision") = "main",
            py::arg("on_download") = py::none())
        .def_property_readonly("info", [](const Model& model) { return info_dict(model.info()); })
        .def(
            "tokenize",
            [](const Model& model, const std::string& text, bool add_special, bool parse_special) {
                return value_or_raise(model.tokenize(text, add_special, parse_special));
            },
            py::arg("text"), py::arg("add_special") = true, py::arg("parse_special") = false)
        .def(
            "detokenize",
            [](const Model& model, const std::vector<int32_t>& ids) { return value_or_raise(model.detokenize(ids)); },
            py::arg("ids"))
        .def(
            "generate",
            [](const Model& model, const Prompt& prompt, const TextCallback& on_text, CancelToken* cancel,
               const py::kwargs& kw) {
                return run_generation(
                    [&](const GenerateOptions& o) {
                        if (const auto* text = std::get_if<std::string>(&prompt)) return model.generate(*text, o);
                        return model.generate(std::span<const int32_t>(std::get<std::vector<int32_t>>(prompt)), o);
                    },
                    generate_options(kw), on_text, cancel);
            },
            py::arg("prompt"), py::arg("on_text") = py::none(), py::arg("cancel") = py::none())
        .def(
            "generate_batch",
            [](const Model& model, const std::vector<std::string>& prompts,
               const std::optional<std::function<bool(size_t, std::string)>>& on_text, const py::kwargs& kw) {
                return run_batch(model, prompts, generate_options(kw), on_text);
            },
            py::arg("prompts"), py::arg("on_text") = py::none())
        .def(
            "chat",
            [](const Model& model, const py::list& messages, const TextCallback& on_text, CancelToken* cancel,
               const py::kwargs& kw) {
                const std::vector<ChatMessage> conversation = chat_messages(messages);
                return run_generation([&](const GenerateOptions& o) { return model.chat(conversation, o); },
                                      generate_options(kw), on_text, cancel);
            },
            py::arg("messages"), py::arg("on_text") = py::none(), py::arg("cancel") = py::none())
        .def(
            "new_chat",
            [](const Model& model, const std::string& system, size_t context) {
                // Without the GIL: the model may be busy with a stream whose callbacks need it.
                std::optional<Result<Chat>> chat;
                {
                    py::gil_scoped_release released;
                    chat.emplace(model.new_chat({.system = system, .context = context}));
                }
                return value_or_raise(std::move(*chat));
            },
            py::arg("system") = "", py::arg("context") = 0)
        .def(
            "logits",
            [](const Model& model, const std::vector<int32_t>& ids, bool all_tokens) {
                std::optional<Result<std::vector<float>>> out;
                {
                    py::gil_scoped_release released;
                    out.emplace(model.logits(ids, all_tokens));
                }
                std::vector<float> values = value_or_raise(std::move(*out));
                const auto n_vocab = static_cast<py::ssize_t>(model.info().n_vocab);
                if (!all_tokens) return as_array(std::move(values), {n_vocab});
                return as_array(std::move(values), {static_cast<py::ssize_t>(ids.size()), n_vocab});
            },
            py::arg("ids"), py::arg("all_tokens") = false)
        .def(
            "perplexity",
            [](const Model& model, const std::string& text, size_t window, size_t max_chunks) {
                std::optional<Result<Perplexity>> out;
                {
                    py::gil_scoped_release released;
                    out.emplace(model.perplexity(text, {.window = window, .max_chunks = max_chunks, .on_start = {}}));
                }
                const Perplexity p = value_or_raise(std::move(*out));
                py::dict d;
                d["perplexity"] = p.perplexity;
                d["uncertainty"] = p.uncertainty;
                d["chunks"] = p.chunks;
                d["scored_tokens"] = p.scored_tokens;
                d["text_tokens"] = p.text_tokens;
                return d;
            },
            py::arg("text"), py::arg("window") = 512, py::arg("max_chunks") = 0)
        .def(
            "benchmark",
            [](const Model& model, size_t prompt_tokens, size_t generate_tokens, std::vector<int> threads,
               int repetitions) {
                std::optional<Result<std::string>> out;
                {
                    py::gil_scoped_release released;
                    out.emplace(model.benchmark({.prompt_tokens = prompt_tokens, .generate_tokens = generate_tokens,
                                                 .threads = std::move(threads), .repetitions = repetitions}));
                }
                return value_or_raise(std::move(*out));
            },
            py::arg("prompt_tokens"), py::arg("generate_tokens"), py::arg("threads"), py::arg("repetitions"));
}
