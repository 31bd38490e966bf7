// tern: one binary, one subcommand per job. Usage errors exit 2, runtime errors exit 1,
// each with a single line on stderr.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/flags.h"
#include "tern/version.h"

int main(int argc, char** argv) {
    CLI::App app{"tern: run ternary (1.58-bit) language models on CPUs"};
    app.name("tern");
    app.set_version_flag("--version", std::string("tern ") + tern::kVersion);
    app.require_subcommand(1);

    tern::cli::InfoOptions info;
    tern::cli::InspectOptions inspect;
    tern::cli::BenchOptions bench;
    tern::cli::add_info_command(app, info);
    tern::cli::add_inspect_command(app, inspect);
    tern::cli::RunOptions run;
    tern::cli::SynthOptions synth;
    tern::cli::add_bench_command(app, bench);
    tern::cli::add_run_command(app, run);
    tern::cli::add_synth_command(app, synth);
    tern::cli::ConvertOptions convert;
    tern::cli::add_convert_command(app, convert);
    tern::cli::QuantizeOptions quantize;
    tern::cli::add_quantize_command(app, quantize);
    tern::cli::TokenizeOptions tokenize;
    tern::cli::PerplexityOptions perplexity;
    tern::cli::add_tokenize_command(app, tokenize);
    tern::cli::add_perplexity_command(app, perplexity);
    tern::cli::ChatOptions chat;
    tern::cli::add_chat_command(app, chat);
    tern::cli::ServeOptions serve;
    tern::cli::add_serve_command(app, serve);
    tern::cli::PullOptions pull;
    tern::cli::add_pull_command(app, pull);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
        std::fprintf(stderr, "tern: %s (see 'tern --help')\n", e.what());
        return 2;
    }
    if (app.got_subcommand("info")) return tern::cli::run_info(info);
    if (app.got_subcommand("inspect")) return tern::cli::run_inspect(inspect);
    if (app.got_subcommand("bench")) return tern::cli::run_bench(bench);
    if (app.got_subcommand("run")) return tern::cli::run_run(run);
    if (app.got_subcommand("synth")) return tern::cli::run_synth(synth);
    if (app.got_subcommand("convert")) return tern::cli::run_convert(convert);
    if (app.got_subcommand("quantize")) return tern::cli::run_quantize(quantize);
    if (app.got_subcommand("tokenize")) return tern::cli::run_tokenize(tokenize);
    if (app.got_subcommand("perplexity")) return tern::cli::run_perplexity(perplexity);
    if (app.got_subcommand("chat")) return tern::cli::run_chat(chat);
    if (app.got_subcommand("serve")) return tern::cli::run_serve(serve);
    if (app.got_subcommand("pull")) return tern::cli::run_pull(pull);
    return 2;
}
