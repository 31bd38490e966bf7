// tern synth / run / tokenize / perplexity / bench on a tiny synthetic model and the shared
// vocabularies: real output, exit codes and one-line errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "cli/run_tern.h"
#include "kernels/isa.h"
#include "testing/test_files.h"

namespace tern {
namespace {

class ModelCommands : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new testing::TempDir();
        model_ = (*dir_ / "tiny.gguf").string();
        const TernRun synth = run_tern("synth --shape tiny --type tq2_0 -o " + model_);
        ASSERT_EQ(synth.exit_code, 0) << synth.err;
    }
    static void TearDownTestSuite() { delete dir_; }
    static testing::TempDir* dir_;
    static std::string model_;
};
testing::TempDir* ModelCommands::dir_ = nullptr;
std::string ModelCommands::model_;

TEST_F(ModelCommands, SynthWritesTheSameFileOnAnyThreadCount) {
    const std::string other = (*dir_ / "tiny_3_threads.gguf").string();
    const TernRun synth = run_tern("synth --shape tiny --type tq2_0 -t 3 -o " + other);
    ASSERT_EQ(synth.exit_code, 0) << synth.err;
    EXPECT_EQ(testing::read_file(other), testing::read_file(model_));
    const TernRun bad = run_tern("synth --shape tiny -t 0 -o " + other);
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("--threads"), std::string::npos) << bad.err;
}

// --arch bitnet: the file llama.cpp's converter would write; tern reads it as that architecture.
TEST_F(ModelCommands, SynthWritesAnotherArchitectureOnRequest) {
    const std::string other = (*dir_ / "tiny_bitnet.gguf").string();
    const TernRun synth = run_tern("synth --shape tiny --type tq2_0 --arch bitnet -o " + other);
    ASSERT_EQ(synth.exit_code, 0) << synth.err;
    EXPECT_NE(synth.err.find("(tiny shape as bitnet, tq2_0 ternary)"), std::string::npos) << synth.err;
    const TernRun run = run_tern("run -m " + other + " --ids '1 17 250' -n 4 --temp 0 -t 1");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.err.find("generation: 4 tokens"), std::string::npos) << run.err;
    const TernRun bad = run_tern("synth --shape tiny --arch mamba -o " + other);
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_EQ(bad.err, "tern: synth: architecture 'mamba' is not one tern knows (bitnet-b1.58, bitnet-25, bitnet, llama, ifairy, fairy2i, hgrn-bit)\n");
}

TEST_F(ModelCommands, RunWithIdsIsGreedyAndDeterministic) {
    const TernRun a = run_tern("run -m " + model_ + " --ids '1 17 250' -n 8 --temp 0 -t 1");
    const TernRun b = run_tern("run -m " + model_ + " --ids '1 17 250' -n 8 --temp 0 -t 2 --isa scalar");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(a.out, b.out);   // same tokens on every ISA and thread count
    EXPECT_NE(a.err.find("generation: 8 tokens"), std::string::npos) << a.err;
    // Kernels are autotuned unless the ISA is forced; either way the tokens are the same.
    if (kernels::best_isa_here() == kernels::Isa::kAvx512Vnni) {
        EXPECT_NE(a.err.find("kernels avx512vnni (autotuned: gemv "), std::string::npos) << a.err;
    }
    EXPECT_EQ(b.err.find("autotuned"), std::string::npos) << b.err;
    const TernRun base3 = run_tern("run -m " + model_ + " --ids '1 17 250' -n 8 --temp 0 -t 2 --packing base3");
    ASSERT_EQ(base3.exit_code, 0) << base3.err;
    EXPECT_EQ(base3.out, a.out);   // and with the weights stored in base 3
    // 4- and 6-bit heads: same tokens on every ISA and thread count, and the header says what it is.
    for (const auto& [head, header] :
         {std::pair{"q4_0", "Q4_0 (from tied F16) head"}, std::pair{"q6_k", "Q6_K (from tied F16) head"}}) {
        const std::string args = "run -m " + model_ + " --ids '1 17 250' -n 8 --temp 0 --head " + head;
        const TernRun quantised = run_tern(args + " -t 1");
        const TernRun scalar = run_tern(args + " -t 2 --isa scalar");
        ASSERT_EQ(quantised.exit_code, 0) << quantised.err;
        ASSERT_EQ(scalar.exit_code, 0) << scalar.err;
        EXPECT_EQ(quantised.out, scalar.out) << head;
        EXPECT_NE(quantised.err.find(header), std::string::npos) << quantised.err;
    }
}

TEST_F(ModelCommands, RunSamplingIsReproducibleWithASeed) {
    const std::string args = "run -m " + model_ + " -p 'hello there' -n 12 --temp 1.0 --no-echo -s 11";
    const TernRun a = run_tern(args + " -t 1");
    const TernRun b = run_tern(args + " -t 2");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
    EXPECT_FALSE(a.out.empty());
}

TEST_F(ModelCommands, RunErrorsAreOneLine) {
    struct Case {
        std::string args;
        std::string error;
    };
    const Case cases[] = {
        {"run -m " + model_ + " --ids '1 x'", "tern: --ids: 'x' is not a token id (a non-negative integer)\n"},
        {"run -m " + model_ + " --ids '1 300'", "tern: generate: token 1 is id 300, outside the vocabulary of 300\n"},
        {"run -m " + model_ + " --ids 1 -p hi", "tern: give exactly one of -p PROMPT, -f FILE or --ids IDS\n"},
        {"run -m " + model_ + " --ids 1 -n 200", "tern: prompt (1 tokens) + -n 200 exceeds the context of 128 tokens\n"},
        {"run -m /nonexistent.gguf --ids 1", ""},
        {"run -m " + model_ + " --ids 1 --isa sse9", ""},
        {"run -m " + model_ + " --ids 1 --packing base4", "tern: --packing: 'base4' is not a packing (2bit or base3)\n"},
        {"run -m " + model_ + " --ids 1 --head q5_0", "tern: --head 'q5_0' is not supported (auto, keep, q8_0, q6_k or q4_0)\n"},
        // Where the CPU lacks AVX-512, the --isa error comes first (any one line).
        {"run -m " + model_ + " --ids 1 --packing base3 --isa avx512",
         kernels::choose_isa("avx512").ok()
             ? "tern: --packing base3: the avx512 kernels have no base3 form (scalar, avx2 and avx512vnni have; see --isa)\n"
             : ""},
    };
    for (const Case& c : cases) {
        const TernRun run = run_tern(c.args);
        EXPECT_EQ(run.exit_code, 1) << c.args;
        if (!c.error.empty())
            EXPECT_TRUE(run.err.ends_with(c.error)) << run.err;
        else
            EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    }
}

TEST_F(ModelCommands, PerplexityPrintsAnEstimate) {
    const std::string text = (*dir_ / "text.txt").string();
    std::string words;
    for (int i = 0; i < 400; ++i) words += "the cat sat on the mat. ";
    testing::write_file(text, words);
    const TernRun run = run_tern("perplexity -m " + model_ + " -f " + text + " -c 64 --chunks 2 -t 2");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("[1]"), std::string::npos);
    EXPECT_NE(run.out.find("Final estimate: PPL = "), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("(2 chunks, 62 scored tokens)"), std::string::npos) << run.out;
    const TernRun too_long = run_tern("perplexity -m " + model_ + " -f " + text + " -c 256");
    EXPECT_EQ(too_long.exit_code, 1);
    EXPECT_TRUE(too_long.err.ends_with("tern: perplexity: -c 256 exceeds the model's context of 128 tokens\n"));
}

TEST_F(ModelCommands, BenchSyntheticJson) {
    const TernRun run = run_tern("bench --synthetic tiny -p 8 -n 8 -r 2 -t 1 --json");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto j = nlohmann::json::parse(run.out);
    ASSERT_EQ(j["results"].size(), 2u);
    EXPECT_EQ(j["results"][0]["test"], "pp8");
    EXPECT_EQ(j["results"][1]["test"], "tg8");
    EXPECT_GT(j["results"][1]["tokens_per_s"].get<double>(), 0.0);
    const auto& tg = j["results"][1];
    EXPECT_GT(tg["bytes_per_token"].get<double>(), 0.0);
    // By component: projections and head are the weights (tiny: a 300 x 256 head, Q8_0 by
    // default: 34 bytes per 32 weights), and the three parts add up to the total.
    EXPECT_GT(tg["projection_bytes_per_token"].get<double>(), 0.0);
    EXPECT_EQ(tg["head_bytes_per_token"].get<double>(), 300.0 * 256 / 32 * 34);
    EXPECT_DOUBLE_EQ(tg["projection_bytes_per_token"].get<double>() + tg["head_bytes_per_token"].get<double>() +
                         tg["kv_bytes_per_token"].get<double>(),
                     tg["bytes_per_token"].get<double>());
    EXPECT_NE(run_tern("bench --synthetic tiny -p 0 -n 8 -r 1 -t 1").out.find("tg8 bytes/token: projections "),
              std::string::npos);
    const TernRun prompt_only = run_tern("bench --synthetic tiny -p 16 -n 0 -r 1 -t 1");   // no decode, no bandwidth probe
    ASSERT_EQ(prompt_only.exit_code, 0) << prompt_only.err;
    EXPECT_NE(prompt_only.out.find("read bandwidth (same run): not measured (no decode test)"), std::string::npos) << prompt_only.out;
    EXPECT_NE(prompt_only.out.find("| pp16 "), std::string::npos) << prompt_only.out;
    EXPECT_GT(j["peak_rss_bytes"].get<double>(), 0.0);
    if (kernels::best_isa_here() == kernels::Isa::kAvx512Vnni) {   // avx2 and avx512vnni both read its layout
        const auto& tuned = j["autotune"];
        EXPECT_EQ(tuned["threads"], 1);
        for (const char* op : {"gemv", "gemm"}) {
            const std::string choice = tuned[op].get<std::string>();
            EXPECT_TRUE(choice == "avx2" || choice == "avx512vnni") << choice;
            ASSERT_EQ(tuned[std::string(op) + "_timings"].size(), 2u);
            EXPECT_EQ(tuned[std::string(op) + "_timings"][0]["kernels"], "avx512vnni");
            EXPECT_GT(tuned[std::string(op) + "_timings"][1]["seconds"].get<double>(), 0.0);
        }
    }
    const TernRun bad = run_tern("bench --synthetic huge");
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_TRUE(bad.err.ends_with("tern: bench: synthetic shape 'huge' is not known (2b4t, large, 3b, 8b, ifairy-700m, ifairy-tiny, fairy2i-7b, fairy2i-tiny, mmfree-370m, mmfree-1.3b, mmfree-2.7b, mmfree-tiny, tiny)\n"))
        << bad.err;
}

// An f16 KV cache: named in the report, half the cache bytes per generated token, same weights.
TEST_F(ModelCommands, BenchKvTypeF16) {
    auto bytes_per_token = [](const std::string& kv_flag) {
        const TernRun run = run_tern("bench --synthetic tiny -p 0 -n 64 -r 1 -t 1 --json" + kv_flag);
        EXPECT_EQ(run.exit_code, 0) << run.err;
        const auto j = nlohmann::json::parse(run.out);
        EXPECT_EQ(j["kv_type"], kv_flag.empty() ? "f32" : "f16");
        return j["results"][0]["bytes_per_token"].get<double>();
    };
    const double f32 = bytes_per_token(""), f16 = bytes_per_token(" --kv-type f16");
    EXPECT_LT(f16, f32);
    // tiny: keys and values x 2 layers x 128 KV dims x (64 + 1) / 2 positions on average, 2 bytes fewer each.
    EXPECT_DOUBLE_EQ(f32 - f16, 2.0 * 2 * 128 * 65 / 2 * 2);
    const TernRun bad = run_tern("bench --synthetic tiny --kv-type q4");
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("--kv-type: q4 not in {f32,f16}"), std::string::npos) << bad.err;
}

// Batched decode: S sequences in lock-step, aggregate tokens/s, weights shared by the step.
TEST_F(ModelCommands, BenchParallelSequences) {
    const TernRun run = run_tern("bench --synthetic tiny -p 0 -n 6 -r 1 -t 1 --parallel 1,3 --json");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto j = nlohmann::json::parse(run.out);
    ASSERT_EQ(j["results"].size(), 2u);
    EXPECT_EQ(j["results"][0]["test"], "tg6");
    EXPECT_EQ(j["results"][0]["sequences"], 1);
    EXPECT_EQ(j["results"][1]["test"], "tg6x3");
    EXPECT_EQ(j["results"][1]["sequences"], 3);
    EXPECT_GT(j["results"][1]["tokens_per_s"].get<double>(), 0.0);
    // Weights are read once per 3-token step: a third of the single-sequence share each.
    const double one = j["results"][0]["bytes_per_token"], three = j["results"][1]["bytes_per_token"];
    EXPECT_LT(three, one / 2);
    const TernRun bad = run_tern("bench --synthetic tiny --parallel 0");
    EXPECT_EQ(bad.exit_code, 2);   // a bad flag
    EXPECT_NE(bad.err.find("--parallel"), std::string::npos) << bad.err;
}

TEST(TokenizeCommand, IdsOnlyMatchesTheConformanceConvention) {
    const auto shared = testing::shared_dir();
    if (!shared) GTEST_SKIP() << "SKIPPED: ../shared is absent";
    const std::string vocab = (*shared / "data" / "tokenizer" / "ggml-vocab-llama-bpe.gguf").string();
    const TernRun run = run_tern("tokenize -m " + vocab + " --ids --no-special 'Hello world'");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "9906 1917\n");
    const TernRun pieces = run_tern("tokenize -m " + vocab + " 'Hello'");
    EXPECT_EQ(pieces.out, "128000 -> '<|begin_of_text|>'\n  9906 -> 'Hello'\n");
    const TernRun none = run_tern("tokenize -m " + vocab);
    EXPECT_EQ(none.exit_code, 1);
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

TEST_F(ModelCommands, ChatReadsTurnsUntilEof) {
    const TernRun run = run_tern("chat -m " + model_ + " -n 6 --temp 0 -t 1", "", std::string("hello\n\n/reset\nagain\n"));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("[conversation reset]\n"), std::string::npos) << run.out;
    EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 3) << run.out;   // two replies + the reset line
    EXPECT_NE(run.err.find("chat template 'plain'"), std::string::npos) << run.err;

    const TernRun stop = run_tern("chat -m " + model_ + " -n 6", "", std::string("/exit\nnever answered\n"));
    EXPECT_EQ(stop.exit_code, 0);
    EXPECT_EQ(stop.out, "");
    const TernRun bad = run_tern("chat -m " + model_ + " --chat-template jinja", "", std::string(""));
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_TRUE(bad.err.ends_with("tern: --chat-template 'jinja' is neither a built-in format (bitnet, llama3, chatml, "
                                  "falcon3, plain) nor a Jinja template file\n")) << bad.err;
}

TEST_F(ModelCommands, ChatWithAJinjaTemplateFile) {
    // The built-in plain format written as Jinja: the first reply is the same, token for token.
    const std::string path = (*dir_ / "plain.jinja").string();
    std::ofstream(path) << "{% for m in messages %}{% if m.role == 'user' %}User: {{ m.content }}\n"
                           "{% else %}Assistant:{{ m.content }}\n{% endif %}{% endfor %}"
                           "{% if add_generation_prompt %}Assistant:{% endif %}";
    const TernRun jinja = run_tern("chat -m " + model_ + " -n 6 --temp 0 -t 1 --chat-template " + path, "",
                                   std::string("hello\nagain\n"));
    ASSERT_EQ(jinja.exit_code, 0) << jinja.err;
    EXPECT_NE(jinja.err.find("chat template 'jinja file'"), std::string::npos) << jinja.err;
    const TernRun plain = run_tern("chat -m " + model_ + " -n 6 --temp 0 -t 1", "", std::string("hello\n"));
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    ASSERT_EQ(std::count(jinja.out.begin(), jinja.out.end(), '\n'), 2) << jinja.out;
    EXPECT_EQ(jinja.out.substr(0, jinja.out.find('\n') + 1), plain.out);

    const std::string broken = (*dir_ / "broken.jinja").string();
    std::ofstream(broken) << "{% for m in messages %}\n{{ m.content }";
    const TernRun bad = run_tern("chat -m " + model_ + " --chat-template " + broken, "", std::string("hi\n"));
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("chat template: line 2"), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find("broken.jinja"), std::string::npos) << bad.err;
}

}  // namespace
// --draft MODEL: a draft model with the model's vocabulary keeps the text exactly (here the
// model drafts for itself, so every guess holds); one with another vocabulary is refused.
TEST_F(ModelCommands, DraftModelMustShareTheVocabulary) {
    const std::filesystem::path shipped_dir = std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories";
    const std::string shipped = (shipped_dir / "tinystories-bitnet.gguf").string();
    const nlohmann::json card = nlohmann::json::parse(std::ifstream(shipped_dir / "card.json"));
    const std::vector<std::byte> golden = testing::read_file(shipped_dir / "golden.txt");
    const std::string run = "run -m " + shipped + " -p '" + card["golden_prompt"].get<std::string>() + "' -n " +
                            std::to_string(card["golden_tokens"].get<int>()) + " --temp 0 --no-echo -t 2 --draft ";
    const TernRun itself = run_tern(run + shipped);
    ASSERT_EQ(itself.exit_code, 0) << itself.err;
    EXPECT_EQ(itself.out, std::string(reinterpret_cast<const char*>(golden.data()), golden.size()));
    EXPECT_NE(itself.err.find("(100 %)"), std::string::npos) << itself.err;

    const TernRun other_size = run_tern(run + model_);
    EXPECT_EQ(other_size.exit_code, 1);
    EXPECT_TRUE(other_size.err.ends_with("in its vocabulary, the model 2048; they must share one vocabulary\n"))
        << other_size.err;
    // tern serve checks the same before it listens.
    const TernRun serve_other_size = run_tern("serve -m " + shipped + " -t 1 --port 0 --draft " + model_);
    EXPECT_EQ(serve_other_size.exit_code, 1);
    EXPECT_TRUE(serve_other_size.err.ends_with("in its vocabulary, the model 2048; they must share one vocabulary\n"))
        << serve_other_size.err;

    // The same file with one token's text changed (same length, so the file stays valid).
    std::vector<std::byte> bytes = testing::read_file(shipped);
    const std::string token = "\xe2\x96\x81little";
    const auto at = std::search(bytes.begin(), bytes.end(), token.begin(), token.end(),
                                [](std::byte b, char c) { return b == static_cast<std::byte>(c); });
    ASSERT_NE(at, bytes.end());
    for (size_t i = 3; i < token.size(); ++i) at[i] = static_cast<std::byte>(std::toupper(token[i]));
    const std::string renamed = (*dir_ / "renamed_token.gguf").string();
    testing::write_file(renamed, bytes);
    const TernRun other_tokens = run_tern(run + renamed);
    EXPECT_EQ(other_tokens.exit_code, 1);
    EXPECT_NE(other_tokens.err.find("is '\xe2\x96\x81LITTLE' in the draft model and '\xe2\x96\x81little' in the model; they must "
                                    "share one vocabulary"),
              std::string::npos)
        << other_tokens.err;
}

}  // namespace tern
