// Registers each subcommand and its flags on the CLI11 app; parsing fills the options struct
// that the command then runs with (commands.h). CLI11 is included only where it is used
// (flags.cpp, main.cpp): see flags.cpp for why.
#pragma once

#include "cli/commands.h"

namespace CLI {
class App;
}

namespace tern::cli {

void add_info_command(CLI::App& app, InfoOptions& options);
void add_inspect_command(CLI::App& app, InspectOptions& options);
void add_bench_command(CLI::App& app, BenchOptions& options);
void add_run_command(CLI::App& app, RunOptions& options);
void add_synth_command(CLI::App& app, SynthOptions& options);
void add_convert_command(CLI::App& app, ConvertOptions& options);
void add_quantize_command(CLI::App& app, QuantizeOptions& options);
void add_tokenize_command(CLI::App& app, TokenizeOptions& options);
void add_perplexity_command(CLI::App& app, PerplexityOptions& options);
void add_chat_command(CLI::App& app, ChatOptions& options);
void add_serve_command(CLI::App& app, ServeOptions& options);
void add_pull_command(CLI::App& app, PullOptions& options);

}  // namespace tern::cli
