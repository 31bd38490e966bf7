// The `tern` subcommands: each one's options, filled in by parsing the command line
// (cli/flags.h declares the flags), and the function that runs it, returning the exit code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "tern/model.h"

namespace tern::cli {

struct InfoOptions {
    bool measure_bandwidth = true;
    double bandwidth_seconds = 0.4;   // per thread count measured
};
int run_info(const InfoOptions& options);

struct InspectOptions {
    std::string path;
    size_t array_elems = 8;           // array elements shown per metadata key
};
int run_inspect(const InspectOptions& options);

// --split, --split-timeout (LoadOptions::split).
struct SplitOptions {
    std::string kind;              // "", "rows" or "layers" (under mpirun)
    double wait_limit_seconds = 60;  // a wait for the other ranks longer than this ends the job
};

struct BenchOptions {
    bool kernels = false;
    std::vector<int> threads;         // empty: 1 and 2; under --split, this rank's share of the cores
    std::vector<std::string> isas;    // empty: all this machine runs
    size_t gemm_tokens = 128;
    bool float_head = true;
    bool complex_kernels = true;
    size_t stream_mb = 0;
    double seconds_per_point = 0.3;
    bool json = false;
    // Whole-model benchmark (llama-bench protocol).
    std::string model;
    std::string synthetic;            // shape name
    std::string synthetic_type = "i2_s";
    size_t n_prompt = 128;
    size_t n_gen = 128;
    std::vector<size_t> sequences = {1};
    std::vector<size_t> depths = {0};
    int repetitions = 3;
    std::string head;
    std::string packing = "2bit";
    std::string weights;                 // "" or fairy2i-w1 / fairy2i-w2 (LlamaForCausalLM folders)
    std::string activations = "int8";    // Fairy2i projections: int8 or float
    kernels::KvType kv_type = kernels::KvType::kF32;
    SplitOptions split;
};
int run_bench(const BenchOptions& options);

// --draft, --draft-max, --draft-fixed (cli/library_model.h).
struct DraftOptions {
    std::string source;     // "": plain decoding; "ngram": prompt lookup; else a draft model
    size_t max_tokens = 8;  // --draft-max
    bool fixed = false;     // --draft-fixed: check every guess, no adapting
};

struct RunOptions {
    std::string model;
    std::string prompt;
    std::string prompt_file;
    std::string ids;
    SamplingOptions sampler;
    bool no_echo = false;
    std::string head;
    std::string packing = "2bit";
    std::string weights;                 // "" or fairy2i-w1 / fairy2i-w2 (LlamaForCausalLM folders)
    std::string activations = "int8";    // Fairy2i projections: int8 or float
    kernels::KvType kv_type = kernels::KvType::kF32;
    DraftOptions draft;
    SplitOptions split;
    size_t n_predict = 64;
    int threads = 0;                  // 0: all cores
    size_t n_ctx = 0;                 // 0: the model's training context
    std::string isa;
};
int run_run(const RunOptions& options);

struct SynthOptions {
    std::string shape = "2b4t";
    std::string type = "i2_s";
    std::string embd_type = "f16";
    std::string arch;                 // empty: the shape's own architecture name
    bool untied_head = false;
    uint64_t seed = 1;
    std::string output;
    int threads = 0;   // 0: all cores
};

struct ConvertOptions {
    std::string folder;
    std::string output;
    std::string name;
    std::string type;      // i2_s, tq2_0, tq1_0 ("" = the family's default)
    std::string head;      // f32, f16, bf16, q8_0, keep ("" = q8_0 where the head is a float matrix)
    std::string method;    // absmean, threshold, rowfit, gptq, fairy2i-w1, fairy2i-w2
    std::string weights;   // older spelling of --method fairy2i-w1 / fairy2i-w2
    std::string calibration;              // text file for rowfit / gptq
    size_t calibration_tokens = 16384;
    int threads = 0;
};
int run_convert(const ConvertOptions& options);

struct QuantizeOptions {
    std::string input;
    std::string output;
    std::string type;
    std::string head;
    std::string method;    // absmean, threshold: ternarise float projections
    std::string name;
    int threads = 0;
};
int run_quantize(const QuantizeOptions& options);
int run_synth(const SynthOptions& options);

struct PullOptions {
    std::string spec;
    std::string revision = "main";
};
int run_pull(const PullOptions& options);

struct TokenizeOptions {
    std::string model;
    std::string text;
    std::string file;
    bool ids_only = false;
    bool no_special = false;
};
int run_tokenize(const TokenizeOptions& options);

struct PerplexityOptions {
    std::string model;
    std::string file;
    size_t n_ctx = 512;
    int threads = 0;
    std::string isa;
    size_t max_chunks = 0;            // 0: all
    std::string head;
    std::string packing = "2bit";
    std::string weights;                 // "" or fairy2i-w1 / fairy2i-w2 (LlamaForCausalLM folders)
    std::string activations = "int8";    // Fairy2i projections: int8 or float
    kernels::KvType kv_type = kernels::KvType::kF32;
    SplitOptions split;
};
int run_perplexity(const PerplexityOptions& options);

struct ChatOptions {
    std::string model;
    std::string system;
    std::string chat_template;
    size_t max_reply = 512;
    int threads = 0;
    size_t n_ctx = 0;
    SamplingOptions sampler;
    std::string isa;
    std::string head;
    std::string packing = "2bit";
    std::string weights;                 // "" or fairy2i-w1 / fairy2i-w2 (LlamaForCausalLM folders)
    std::string activations = "int8";    // Fairy2i projections: int8 or float
    kernels::KvType kv_type = kernels::KvType::kF32;
    DraftOptions draft;
    SplitOptions split;
};
int run_chat(const ChatOptions& options);

struct ServeOptions {
    std::string model;
    std::string host = "127.0.0.1";
    int port = 8080;
    int threads = 0;
    size_t parallel = 4;
    size_t n_ctx = 0;                 // per request; 0: the model's, at most 4096
    size_t queue = 16;
    std::string api_key;
    std::string api_key_file;
    std::string ssl_cert;
    std::string ssl_key;
    std::string alias;
    std::string chat_template;
    size_t max_body_mb = 8;
    int timeout = 10;
    int keep_alive = 5;
    size_t max_connections = 0;               // 0: what the descriptor limit allows
    size_t max_connections_per_client = 256;  // 0: no cap (behind a proxy every client is the proxy)
    bool no_web_ui = false;
    std::string isa;
    std::string head;
    std::string packing = "2bit";
    std::string weights;                 // "" or fairy2i-w1 / fairy2i-w2 (LlamaForCausalLM folders)
    std::string activations = "int8";    // Fairy2i projections: int8 or float
    kernels::KvType kv_type = kernels::KvType::kF32;
    DraftOptions draft;                  // only "ngram" (a draft model per slot is not built)
    SplitOptions split;
};
int run_serve(const ServeOptions& options);

int default_thread_count();

// Prints "tern: <message>" to stderr and returns the exit code for runtime failures.
int report_failure(const std::string& message);

}  // namespace tern::cli
