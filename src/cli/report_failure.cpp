#include <cstdio>

#include "cli/commands.h"

namespace tern::cli {

int report_failure(const std::string& message) {
    std::fprintf(stderr, "tern: %s\n", message.c_str());
    return 1;
}

}  // namespace tern::cli
