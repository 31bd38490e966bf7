// The library's generate_batch against the same prompts one after another, alternating, on any
// model: batch_bench MODEL [PROMPTS=8] [TOKENS=32] [ROUNDS=3]. Greedy, so both produce the same
// tokens; prints tokens/s of each and their ratio per round.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tern/tern.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int fail(const tern::Error& error) {
    std::fprintf(stderr, "%s\n", error.message().c_str());
    return 1;
}

size_t count_tokens(const std::vector<tern::Generation>& generations) {
    size_t n = 0;
    for (const tern::Generation& g : generations) n += g.generated_tokens;
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: batch_bench MODEL [PROMPTS=8] [TOKENS=32] [ROUNDS=3]\n");
        return 2;
    }
    const size_t n_prompts = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 8;
    const size_t n_tokens = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 32;
    const int rounds = argc > 4 ? std::atoi(argv[4]) : 3;
    tern::Result<tern::Model> model = tern::Model::load(argv[1]);
    if (!model.ok()) return fail(model.error());
    std::vector<std::string> prompts;
    for (size_t i = 0; i < n_prompts; ++i) prompts.push_back("Prompt number " + std::to_string(i) + " says");
    tern::GenerateOptions options;
    options.max_tokens = n_tokens;
    options.sampling.temperature = 0;
    for (int round = 0; round < rounds; ++round) {
        const auto one_by_one_start = std::chrono::steady_clock::now();
        std::vector<tern::Generation> one_by_one;
        for (const std::string& prompt : prompts) {
            tern::Result<tern::Generation> g = model.value().generate(prompt, options);
            if (!g.ok()) return fail(g.error());
            one_by_one.push_back(std::move(g).value());
        }
        const double one_by_one_seconds = seconds_since(one_by_one_start);
        const auto batch_start = std::chrono::steady_clock::now();
        tern::Result<std::vector<tern::Generation>> batch = model.value().generate_batch(prompts, options);
        if (!batch.ok()) return fail(batch.error());
        const double batch_seconds = seconds_since(batch_start);
        const double sequential_rate = count_tokens(one_by_one) / one_by_one_seconds;
        const double batch_rate = count_tokens(batch.value()) / batch_seconds;
        std::printf("round %d: one by one %.1f tokens/s, batch of %zu %.1f tokens/s, ratio %.2f\n", round + 1,
                    sequential_rate, n_prompts, batch_rate, batch_rate / sequential_rate);
    }
    return 0;
}
