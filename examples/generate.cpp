// Streams a continuation of a prompt from a model, through tern's public API only.
//   generate MODEL PROMPT [MAX_TOKENS]
// Greedy decoding, so the same model and prompt always give the same text.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tern/tern.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL PROMPT [MAX_TOKENS]\n", argv[0]);
        return 2;
    }
    tern::Result<tern::Model> model = tern::Model::load(argv[1]);
    if (!model.ok()) {
        std::fprintf(stderr, "error: %s\n", model.error().message().c_str());
        return 1;
    }
    tern::GenerateOptions options;
    options.max_tokens = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 64;
    options.sampling.temperature = 0;
    options.on_text = [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    };
    tern::Result<tern::Generation> out = model.value().generate(argv[2], options);
    if (!out.ok()) {
        std::fprintf(stderr, "\nerror: %s\n", out.error().message().c_str());
        return 1;
    }
    const tern::Generation& g = out.value();
    std::fprintf(stderr, "\n%s: %zu prompt tokens, %zu generated (%.1f tok/s), finished: %s\n",
                 model.value().info().architecture.c_str(), g.prompt_tokens, g.generated_tokens,
                 g.generated_tokens / (g.generate_seconds > 0 ? g.generate_seconds : 1.0),
                 std::string(tern::finish_reason_name(g.finish)).c_str());
    return 0;
}
