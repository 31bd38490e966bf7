// The `tern` subcommands. Each registers its options on the CLI11 app (declared once, so
// parsing and --help cannot drift) and runs after parsing, returning the process exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

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

// Prints "tern: <message>" to stderr and returns the exit code for runtime failures.
int report_failure(const std::string& message);

}  // namespace tern::cli
