// Runs the real `tern` binary for CLI tests and captures exit code, stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <optional>
#include <string>

#include "testing/test_files.h"

namespace tern {

struct TernRun {
    int exit_code;
    std::string out;   // stdout
    std::string err;   // stderr
};

// `stdin_text`, when given, is what the command reads on standard input.
inline TernRun run_tern(const std::string& args, const std::string& env = "",
                        const std::optional<std::string>& stdin_text = std::nullopt) {
    testing::TempDir dir;
    const std::string err_path = (dir / "stderr").string();
    const std::string launcher = TERN_BINARY_LAUNCHER;
    std::string command = (env.empty() ? "" : "env " + env + " ") + (launcher.empty() ? "" : launcher + " ") +
                          std::string(TERN_BINARY) + " " + args + " 2>" + err_path;
    if (stdin_text) {
        testing::write_file(dir / "stdin", *stdin_text);
        command += " <" + (dir / "stdin").string();
    }
    TernRun run{-1, "", ""};
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return run;
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.out.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    const auto err = testing::read_file(err_path);
    run.err.assign(reinterpret_cast<const char*>(err.data()), err.size());
    return run;
}

}  // namespace tern
