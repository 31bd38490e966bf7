// Tokenizer speed on ~1 MB of English (the TinyStories validation text, tools/train/data):
// encode and decode with the Llama-3 BPE and LLaMA SentencePiece vocabularies from ../shared.
// Run: ./build/bench/tokenizer_bench (reports bytes/s; the target is well under 1 s per MB).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>

#include "format/gguf_reader.h"
#include "testing/test_files.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

std::string english_text() {
    const std::string path = std::string(TERN_BINARY_DIR) + "/tests/tinystories_valid.txt";
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return {};
    std::string text(1 << 20, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), f));
    std::fclose(f);
    return text;
}

std::unique_ptr<tokenizer::Tokenizer> vocab(const char* name) {
    const auto shared = testing::shared_dir();
    if (!shared) return nullptr;
    auto file = format::GgufFile::open((*shared / "data" / "tokenizer" / name).string());
    if (!file.ok()) return nullptr;
    auto tok = tokenizer::Tokenizer::from_gguf(file.value().contents());
    return tok.ok() ? std::make_unique<tokenizer::Tokenizer>(std::move(tok).value()) : nullptr;
}

void encode(benchmark::State& state, const char* name) {
    const auto tok = vocab(name);
    const std::string text = english_text();
    if (!tok || text.empty()) {
        state.SkipWithError("needs ../shared and the unpacked validation text (build the tests first)");
        return;
    }
    size_t n_tokens = 0;
    for (auto _ : state) {
        const std::vector<int32_t> ids = tok->encode(text, false, false);
        n_tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
    state.counters["tokens"] = static_cast<double>(n_tokens);
}

void decode(benchmark::State& state, const char* name) {
    const auto tok = vocab(name);
    const std::string text = english_text();
    if (!tok || text.empty()) {
        state.SkipWithError("needs ../shared and the unpacked validation text (build the tests first)");
        return;
    }
    const std::vector<int32_t> ids = tok->encode(text, false, false);
    for (auto _ : state) benchmark::DoNotOptimize(tok->decode(ids).size());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

BENCHMARK_CAPTURE(encode, llama3_bpe, "ggml-vocab-llama-bpe.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode, llama_spm, "ggml-vocab-llama-spm.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decode, llama3_bpe, "ggml-vocab-llama-bpe.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decode, llama_spm, "ggml-vocab-llama-spm.gguf")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();
