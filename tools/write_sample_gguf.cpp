// Writes a GGUF holding one 256 x 2 tensor of every type tern decodes, for checks by other
// readers (tools/gguf_check.py runs on it in the test suite). Usage: write_sample_gguf OUT
#include <cstdio>

#include "testing/test_files.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: write_sample_gguf OUT.gguf\n");
        return 2;
    }
    const auto status = tern::testing::make_all_types_writer().write_to_file(argv[1]);
    if (!status.ok()) {
        std::fprintf(stderr, "write_sample_gguf: %s\n", status.error().message().c_str());
        return 1;
    }
    return 0;
}
