// Every subcommand's flags: names, help, defaults and checks, read by both parsing and --help.
// They live in this one file rather than beside each command because CLI11 is header-only and
// every file that includes it compiles its parser and help formatter again (about 7 s at -O2,
// 13 s under sanitizers); the commands themselves see only their option structs (commands.h).
#include "cli/flags.h"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/str_cat.h"
#include "model/synthetic_model.h"
#include "tokenizer/chat_template.h"

namespace tern::cli {
namespace {

// --head: the LM head converted at load.
void add_head_option(CLI::App* command, std::string& head) {
    command->add_option("--head", head,
                        "LM head at load: auto (default: a 16- or 32-bit head of 32 MiB or more becomes Q8_0), "
                        "keep (the file's type), q8_0, q6_k (ggml's Q6_K, 6.56 bits a weight) or q4_0 (half the bytes of q8_0); "
                        "q6_k and q4_0 cost some perplexity (docs/performance.md)");
}

// --packing: how ternary weights sit in memory.
void add_packing_option(CLI::App* command, std::string& packing) {
    command->add_option("--packing", packing,
                        "Ternary weights in memory: 2bit, or base3 (1.6 bits per weight; scalar, avx2 and avx512vnni kernels)")
        ->capture_default_str();
}

// --weights and --activations: a LLaMA folder read as Fairy2i.
void add_weights_options(CLI::App* command, std::string& weights, std::string& activations) {
    command->add_option("--weights", weights,
                        "Read a LlamaForCausalLM folder as Fairy2i: fairy2i-w1 or fairy2i-w2 (PhaseQuant stages); "
                        "folders whose quantization_config says fairy2i need no flag");
    command->add_option("--activations", activations, "Fairy2i projections: int8 (exact integer sums) or float")
        ->capture_default_str();
}

// --kv-type (f32 or f16; a bad value is a usage error).
void add_kv_type_option(CLI::App* command, kernels::KvType& kv_type) {
    command
        ->add_option_function<std::string>(
            "--kv-type",
            [&kv_type](const std::string& name) { kv_type = name == "f16" ? kernels::KvType::kF16 : kernels::KvType::kF32; },
            "KV cache element type: f32, or f16 (half the memory and cache reads)")
        ->check(CLI::IsMember({"f32", "f16"}))
        ->default_str("f32");
}

// --temp, --top-k, --top-p, --min-p, --typical, the penalties, --logit-bias and -s/--seed.
void add_sampling_options(CLI::App* command, SamplingOptions& sampler) {
    command->add_option("--temp", sampler.temperature, "Temperature (0: greedy)")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    command->add_option("--top-k", sampler.top_k, "Top-k (0: off)")->capture_default_str();
    command->add_option("--top-p", sampler.top_p, "Top-p (1: off)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
    command->add_option("--min-p", sampler.min_p, "Min-p (0: off)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
    command->add_option("--typical", sampler.typical_p, "Locally typical sampling p (1: off)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    command->add_option("--repeat-penalty", sampler.repeat_penalty, "Penalty for tokens in the window (1: off)")
        ->check(CLI::Range(0.0, 10.0))
        ->capture_default_str();
    command->add_option("--repeat-last-n", sampler.penalty_last_n, "Window of the penalties, in tokens")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    command->add_option("--frequency-penalty", sampler.frequency_penalty, "Subtracted per occurrence in the window")
        ->capture_default_str();
    command->add_option("--presence-penalty", sampler.presence_penalty, "Subtracted once if in the window")
        ->capture_default_str();
    command->add_option_function<std::vector<std::string>>(
        "--logit-bias",
        [&sampler](const std::vector<std::string>& items) {
            for (const std::string& item : items) {
                const size_t eq = item.find('=');
                size_t used_id = 0, used_bias = 0;
                int32_t id = -1;
                float bias = 0;
                try {
                    id = std::stoi(item.substr(0, eq), &used_id);
                    bias = std::stof(item.substr(eq + 1), &used_bias);
                } catch (const std::exception&) {
                    used_id = 0;
                }
                if (eq == std::string::npos || used_id != eq || used_bias != item.size() - eq - 1 || id < 0)
                    throw CLI::ValidationError("--logit-bias", "'" + item + "' is not ID=BIAS (e.g. 13=-inf or 2=1.5)");
                sampler.logit_bias[id] = bias;
            }
        },
        "Add a bias to a token's logit: ID=BIAS (repeatable, -inf bans a token)")
        ->delimiter(',');
    command->add_option("-s,--seed", sampler.seed, "Random seed")->capture_default_str();
}

// --split and --split-timeout (LoadOptions::split, cli/library_model.h).
void add_split_option(CLI::App* command, SplitOptions& split) {
    command->add_option("--split", split.kind,
                        "Under mpirun: split the model over the ranks (logits bit-identical to one process). rows: "
                        "each rank keeps its rows of every projection, its KV heads and its rows of the head; "
                        "layers: each rank keeps contiguous layers (a pipeline)")
        ->check(CLI::IsMember({"rows", "layers"}));
    command->add_option("--split-timeout", split.wait_limit_seconds,
                        "Under --split: seconds a rank waits for the others inside a step before it ends the job "
                        "(a rank stopped, or a host unreachable)")
        ->capture_default_str()->check(CLI::Range(0.1, 86400.0));
}

// --draft, --draft-max and --draft-fixed (cli/library_model.h turns them into GenerateOptions).
void add_draft_options(CLI::App* command, DraftOptions& options) {
    command->add_option("--draft", options.source,
                        "Speculative decoding: 'ngram' (guess from earlier text) or a draft model with the same "
                        "vocabulary; output is unchanged");
    command->add_option("--draft-max", options.max_tokens, "Guesses checked per step at most")
        ->check(CLI::Range(1, 16))
        ->capture_default_str();
    command->add_flag("--draft-fixed", options.fixed,
                      "Check every guess the drafter gives (default: as many as measured to pay off)");
}

// --isa, --head, --packing, --weights, --activations and --kv-type: how a model-running command
// loads the model and which kernels run it.
template <class Options>
void add_loading_options(CLI::App* command, Options& options) {
    command->add_option("--isa", options.isa, "Kernels: scalar, avx2, avx512, avx512vnni; on ARM neon, neondot, "
                                              "neoni8mm (default: fastest)");
    add_head_option(command, options.head);
    add_packing_option(command, options.packing);
    add_weights_options(command, options.weights, options.activations);
    add_kv_type_option(command, options.kv_type);
}

}  // namespace

void add_info_command(CLI::App& app, InfoOptions& options) {
    CLI::App* info = app.add_subcommand("info", "Show the CPU, its SIMD features, caches and memory bandwidth");
    info->add_flag("!--no-bandwidth", options.measure_bandwidth, "Skip the memory bandwidth measurement");
    info->add_option("--bandwidth-seconds", options.bandwidth_seconds, "Seconds spent measuring per thread count")
        ->check(CLI::Range(0.05, 10.0))
        ->capture_default_str();
}

void add_inspect_command(CLI::App& app, InspectOptions& options) {
    CLI::App* inspect = app.add_subcommand("inspect", "List the metadata and tensors of a GGUF file, a safetensors file "
                                                       "or a Hugging Face model folder");
    inspect->add_option("path", options.path, "Model file (.gguf, .safetensors) or Hugging Face model folder")->required();
    inspect->add_option("--array-elems", options.array_elems, "Array elements shown per metadata key")
        ->check(CLI::Range(size_t{0}, size_t{1} << 20))
        ->capture_default_str();
}

void add_bench_command(CLI::App& app, BenchOptions& options) {
    CLI::App* bench = app.add_subcommand("bench", "Measure kernel speed against the machine's memory bandwidth");
    bench->add_flag("--kernels", options.kernels,
                    "Benchmark the matmul kernels: ternary on BitNet-2B4T shapes, the LM head, complex and widely-linear");
    bench->add_option("-t,--threads", options.threads,
                      "Thread counts to measure, e.g. 1,2 (default 1,2; under --split one count, by default this "
                      "rank's share of the cores)")
        ->delimiter(',')
        ->check(CLI::Range(1, 512));
    bench->add_option("--isa", options.isas, "Only these ISAs (scalar, avx2, avx512, avx512vnni; on ARM neon, neondot, neoni8mm)")->delimiter(',');
    bench->add_option("--gemm-tokens", options.gemm_tokens, "Tokens per GEMM call (0 skips GEMM)")
        ->check(CLI::Range(0, 4096))
        ->capture_default_str();
    bench->add_option("--stream-mb", options.stream_mb, "MiB of weight copies cycled per GEMV and GEMM (0: 4x the LLC, >= 256)")
        ->check(CLI::Range(0, 1 << 16))
        ->capture_default_str();
    bench->add_flag("!--no-head", options.float_head, "Skip the 128256x2560 LM-head GEMVs (F16 and Q8_0)");
    bench->add_flag("!--no-complex", options.complex_kernels, "Skip the complex (iFairy) and widely-linear (Fairy2i) GEMVs");
    bench->add_option("--seconds", options.seconds_per_point, "Timing budget per measurement")
        ->check(CLI::Range(0.01, 60.0))
        ->capture_default_str();
    bench->add_flag("--json", options.json, "Print the results as JSON");
    bench->add_option("-m,--model", options.model, "Benchmark this model file (pp/tg like llama-bench)");
    bench->add_option("--synthetic", options.synthetic,
                      str_cat("Benchmark a random model of this shape: ", model::synthetic_shape_names()));
    bench->add_option("--type", options.synthetic_type, "Ternary type of the --synthetic model (i2_s, tq2_0, tq1_0)")
        ->capture_default_str();
    bench->add_option("-p,--n-prompt", options.n_prompt, "Prompt tokens for pp (0 skips)")
        ->check(CLI::Range(0, 1 << 16))
        ->capture_default_str();
    bench->add_option("-n,--n-gen", options.n_gen, "Generated tokens for tg (0 skips)")
        ->check(CLI::Range(0, 1 << 16))
        ->capture_default_str();
    bench->add_option("-d,--depth", options.depths,
                      "Decode after this many tokens of context, e.g. 0,1024,4096 (filled untimed, as llama-bench -d)")
        ->delimiter(',')
        ->check(CLI::Range(0, 1 << 20));
    bench->add_option("--parallel", options.sequences,
                      "Also decode this many sequences in lock-step, as tern serve batches them (e.g. 1,4)")
        ->delimiter(',')
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    add_packing_option(bench, options.packing);
    add_weights_options(bench, options.weights, options.activations);
    add_kv_type_option(bench, options.kv_type);
    add_split_option(bench, options.split);
    bench->add_option("--head", options.head,
                      "LM head: q8_0 (default for --synthetic), auto (default for -m, as run), q6_k, q4_0, or keep (the file's type; also 'file')");
    bench->add_option("-r,--repetitions", options.repetitions, "Repetitions of each test")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
}

void add_run_command(CLI::App& app, RunOptions& options) {
    CLI::App* run = app.add_subcommand("run", "Generate text from a prompt");
    run->add_option("-m,--model", options.model, "Model file (GGUF)")->required();
    run->add_option("-p,--prompt", options.prompt, "Prompt text");
    run->add_option("-f,--file", options.prompt_file, "Read the prompt from this file");
    run->add_option("--ids", options.ids, "Prompt as token ids separated by spaces");
    add_sampling_options(run, options.sampler);
    run->add_flag("--no-echo", options.no_echo, "Do not print the prompt before the generated text");
    run->add_option("-n,--n-predict", options.n_predict, "Tokens to generate")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    run->add_option("-t,--threads", options.threads, "Threads (default: all cores)")->check(CLI::Range(1, 512));
    run->add_option("-c,--ctx", options.n_ctx, "Context length (default: the model's)")->check(CLI::Range(0, 1 << 22));
    add_loading_options(run, options);
    add_draft_options(run, options.draft);
    add_split_option(run, options.split);
}

void add_synth_command(CLI::App& app, SynthOptions& options) {
    CLI::App* synth = app.add_subcommand("synth", "Write a random ternary model of a real shape as GGUF");
    synth->add_option("--shape", options.shape, str_cat("Shape: ", model::synthetic_shape_names()))->capture_default_str();
    synth->add_option("--type", options.type, "Ternary type: i2_s, tq2_0 or tq1_0")->capture_default_str();
    synth->add_option("--embd-type", options.embd_type, "Embedding type: f32, f16, bf16, q8_0 or q6_k")->capture_default_str();
    synth->add_option("--arch", options.arch,
                      "general.architecture to write (default: the shape's; 'bitnet' gives the 2b4t shape as "
                      "llama.cpp's converter names it)");
    synth->add_flag("--untied-head", options.untied_head, "Also write output.weight");
    synth->add_option("--seed", options.seed, "Random seed")->capture_default_str();
    synth->add_option("-o,--output", options.output, "Output file")->required();
    synth->add_option("-t,--threads", options.threads, "Threads generating the weights (default: all cores; same file for any count)")
        ->check(CLI::Range(1, 512));
}

void add_convert_command(CLI::App& app, ConvertOptions& options) {
    CLI::App* convert = app.add_subcommand(
        "convert", "Convert a Hugging Face model folder to GGUF (BitNet, ternary or float LLaMA/Mistral, iFairy, "
                   "Fairy2i, HGRN-Bit)");
    convert->add_option("folder", options.folder, "Hugging Face model folder (config.json, safetensors, tokenizer)")->required();
    convert->add_option("-o,--output", options.output, "Output GGUF file")->required();
    convert->add_option("--name", options.name, "general.name to write (default: the folder's name)");
    convert->add_option("--type", options.type,
                        "Ternary storage: i2_s, tq2_0 or tq1_0 (default i2_s; tq2_0 for rowfit / gptq, whose rows have "
                        "multipliers of their own)");
    convert->add_option("--head", options.head,
                        "Head (and tied embedding) type: q8_0 (default), f16, bf16, f32, or keep the folder's");
    convert->add_option("--method", options.method,
                        "For float LlamaForCausalLM/MistralForCausalLM folders: absmean or threshold (post-training "
                        "ternarisation), rowfit or gptq (calibrated, with --calibration), or fairy2i-w1 / fairy2i-w2 "
                        "(widely-linear PhaseQuant)");
    convert->add_option("--calibration", options.calibration, "Text whose activations calibrate --method rowfit / gptq");
    convert->add_option("--calibration-tokens", options.calibration_tokens,
                        "Calibration tokens to use at most (default 16384)")
        ->check(CLI::Range(size_t{1}, size_t{1} << 24));
    convert->add_option("--weights", options.weights, "Same as --method fairy2i-w1 / fairy2i-w2");
    convert->add_option("-t,--threads", options.threads, "Threads quantising the weights (default: all cores)")
        ->check(CLI::Range(1, 512));
}

void add_quantize_command(CLI::App& app, QuantizeOptions& options) {
    CLI::App* quantize = app.add_subcommand(
        "quantize", "Rewrite a GGUF model: ternary type, head type, or post-training ternarisation of a float model");
    quantize->add_option("input", options.input, "GGUF model file")->required();
    quantize->add_option("output", options.output, "Output GGUF file")->required();
    quantize->add_option("--type", options.type, "Ternary storage: i2_s (default), tq2_0 or tq1_0");
    quantize->add_option("--head", options.head,
                         "Head (and tied embedding) type: q8_0 (default), f16, bf16, f32, or keep the input's");
    quantize->add_option("--method", options.method,
                         "Ternarise float projections (a llama.cpp F16/BF16/F32 llama file): absmean or threshold");
    quantize->add_option("--name", options.name, "general.name to write (default: the input's)");
    quantize->add_option("-t,--threads", options.threads, "Threads (default: all cores)")->check(CLI::Range(1, 512));
}

void add_tokenize_command(CLI::App& app, TokenizeOptions& options) {
    CLI::App* cmd = app.add_subcommand("tokenize", "Print the token ids (and pieces) of a text");
    cmd->add_option("-m,--model", options.model, "GGUF file, model folder, tokenizer.json, tokenizer.model, or ORG/NAME on the Hub")->required();
    cmd->add_option("text", options.text, "Text to tokenize");
    cmd->add_option("-f,--file", options.file, "Read the text from this file");
    cmd->add_flag("--ids", options.ids_only, "Print only the ids, separated by spaces, on one line");
    cmd->add_flag("--no-special", options.no_special, "Add no BOS/EOS and do not parse special-token text");
}

void add_perplexity_command(CLI::App& app, PerplexityOptions& options) {
    CLI::App* cmd = app.add_subcommand("perplexity", "Measure perplexity on a text file (llama-perplexity protocol)");
    cmd->add_option("-m,--model", options.model, "Model file (GGUF)")->required();
    cmd->add_option("-f,--file", options.file, "Text file")->required();
    cmd->add_option("-c,--ctx", options.n_ctx, "Chunk length in tokens")->check(CLI::Range(2, 1 << 20))->capture_default_str();
    cmd->add_option("--chunks", options.max_chunks, "Score at most this many chunks (0: all)")->capture_default_str();
    cmd->add_option("-t,--threads", options.threads, "Threads (default: all cores)")->check(CLI::Range(1, 512));
    add_loading_options(cmd, options);
    add_split_option(cmd, options.split);
}

void add_chat_command(CLI::App& app, ChatOptions& options) {
    CLI::App* chat = app.add_subcommand("chat", "Chat with a model in the terminal (/reset, /exit, Ctrl-C stops a reply)");
    chat->add_option("-m,--model", options.model, "Model file (GGUF)")->required();
    chat->add_option("--system", options.system, "System prompt");
    chat->add_option("--chat-template", options.chat_template,
                     str_cat("Prompt format: ", tokenizer::chat_template_names(), " (default: from the model)"));
    chat->add_option("-n,--n-predict", options.max_reply, "Most tokens per reply")->capture_default_str();
    chat->add_option("-t,--threads", options.threads, "Threads (default: all cores)")->check(CLI::Range(1, 512));
    chat->add_option("-c,--ctx", options.n_ctx, "Context length (default: the model's)");
    add_sampling_options(chat, options.sampler);
    add_loading_options(chat, options);
    add_draft_options(chat, options.draft);
    add_split_option(chat, options.split);
}

void add_serve_command(CLI::App& app, ServeOptions& options) {
    CLI::App* serve = app.add_subcommand("serve", "OpenAI-compatible HTTP server (chat, completions, streaming)");
    serve->add_option("-m,--model", options.model, "Model file (GGUF) or Hugging Face folder")->required();
    serve->add_option("--host", options.host, "Address to listen on")->capture_default_str();
    serve->add_option("--port", options.port, "Port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
    serve->add_option("-t,--threads", options.threads, "Threads (default: all cores)")->check(CLI::Range(1, 512));
    serve->add_option("--parallel", options.parallel, "Requests generating at once (KV cache slots)")
        ->capture_default_str()->check(CLI::Range(1, 256));
    serve->add_option("-c,--ctx", options.n_ctx, "Context per request in tokens (default: the model's, at most 4096)");
    serve->add_option("--queue", options.queue, "Requests that may wait for a slot before new ones get 503")
        ->capture_default_str();
    serve->add_option("--api-key", options.api_key, "Require 'Authorization: Bearer KEY' (default: $TERN_API_KEY)");
    serve->add_option("--api-key-file", options.api_key_file, "Accept any key in this file (one per line, # comments)");
    serve->add_option("--ssl-cert", options.ssl_cert, "Serve HTTPS with this PEM certificate (with --ssl-key)");
    serve->add_option("--ssl-key", options.ssl_key, "The certificate's PEM private key");
    serve->add_option("--alias", options.alias, "Model id in /v1/models (default: the file name)");
    serve->add_option("--chat-template", options.chat_template,
                      str_cat("Prompt format: ", tokenizer::chat_template_names(), " (default: from the model)"));
    serve->add_option("--max-body-mb", options.max_body_mb, "Largest request body accepted (413 beyond)")
        ->capture_default_str()->check(CLI::Range(1, 1024));
    serve->add_option("--timeout", options.timeout, "Seconds a client may stall mid-request; shutdown grace")
        ->capture_default_str()->check(CLI::Range(1, 3600));
    serve->add_option("--keep-alive", options.keep_alive, "Seconds an idle connection stays open between requests")
        ->capture_default_str()->check(CLI::Range(1, 3600));
    serve->add_option("--max-connections", options.max_connections,
                      "Open connections at most; beyond, new ones get 503 (default: what the descriptor limit allows)");
    serve->add_option("--max-connections-per-client", options.max_connections_per_client,
                      "Open connections from one address at most; beyond, 429 (0: no cap, e.g. behind a proxy)")
        ->capture_default_str();
    serve->add_flag("--no-webui", options.no_web_ui, "Do not serve the chat page at /");
    add_loading_options(serve, options);
    add_draft_options(serve, options.draft);
    add_split_option(serve, options.split);
}

void add_pull_command(CLI::App& app, PullOptions& options) {
    CLI::App* pull = app.add_subcommand(
        "pull", "Download a model from the Hugging Face Hub into the shared cache (HF_HOME, HF_TOKEN, HF_ENDPOINT)");
    pull->add_option("repo", options.spec, "ORG/NAME, ORG/NAME:FILE or ORG/NAME:GLOB (e.g. 'ORG/NAME:*.gguf')")->required();
    pull->add_option("--revision", options.revision, "Branch, tag or commit")->capture_default_str();
}

}  // namespace tern::cli
