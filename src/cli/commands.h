// The `tern` subcommands. Each registers its options on the CLI11 app (declared once, so
// parsing and --help cannot drift) and runs after parsing, returning the process exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace tern::cli {

struct InfoOptions {
    bool measure_bandwidth = true;
    double bandwidth_seconds = 0.4;   // per thread count measured
};
void add_info_command(CLI::App& app, InfoOptions& options);
int run_info(const InfoOptions& options);

struct InspectOptions {
    std::string path;
    size_t array_elems = 8;           // array elements shown per metadata key
};
void add_inspect_command(CLI::App& app, InspectOptions& options);
int run_inspect(const InspectOptions& options);

struct BenchOptions {
    bool kernels = false;
    std::vector<int> threads = {1, 2};
    std::vector<std::string> isas;    // empty: all this machine runs
    size_t gemm_tokens = 128;
    bool float_head = true;
    size_t stream_mb = 0;
    double seconds_per_point = 0.3;
    bool json = false;
};
void add_bench_command(CLI::App& app, BenchOptions& options);
int run_bench(const BenchOptions& options);

// Prints "tern: <message>" to stderr and returns the exit code for runtime failures.
int report_failure(const std::string& message);

}  // namespace tern::cli
