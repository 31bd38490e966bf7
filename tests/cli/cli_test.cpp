// Runs the real `tern` binary: exit codes, one-line errors, and what inspect prints.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "core/cpu_info.h"
#include "core/str_cat.h"
#include "kernels/isa.h"
#include "cli/run_tern.h"
#include "kernels/dispatch.h"
#include "testing/test_files.h"

namespace tern {
namespace {

size_t count_lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

TEST(Cli, VersionAndHelp) {
    const TernRun version = run_tern("--version");
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.out, "tern 0.1.0\n");
    const TernRun help = run_tern("--help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("inspect"), std::string::npos);
    EXPECT_NE(help.out.find("info"), std::string::npos);
    const TernRun inspect_help = run_tern("inspect --help");
    EXPECT_EQ(inspect_help.exit_code, 0);
    EXPECT_NE(inspect_help.out.find("--array-elems"), std::string::npos);
}

TEST(Cli, BadUsageIsOneLineAndExitCode2) {
    for (const char* args : {"", "frobnicate", "--bogus", "inspect", "info --bandwidth-seconds four",
                             "inspect a b", "inspect --array-elems -1 x.gguf"}) {
        const TernRun run = run_tern(args);
        EXPECT_EQ(run.exit_code, 2) << args;
        EXPECT_EQ(count_lines(run.err), 1u) << args << ": " << run.err;
        EXPECT_EQ(run.err.rfind("tern: ", 0), 0u) << run.err;
        EXPECT_TRUE(run.out.empty()) << args;
    }
}

TEST(Cli, ServeRefusesBadKeyAndTlsFlagsBeforeLoading) {
    testing::TempDir dir;
    testing::write_file(dir / "keys.txt", std::string("# only a comment\n\n"));
    // The model does not exist: these flags are refused before anything loads.
    const TernRun empty_keys = run_tern("serve -m missing.gguf --api-key-file " + (dir / "keys.txt").string());
    EXPECT_EQ(empty_keys.exit_code, 1);
    EXPECT_NE(empty_keys.err.find("holds no keys"), std::string::npos) << empty_keys.err;
    const TernRun half_tls = run_tern("serve -m missing.gguf --ssl-cert cert.pem");
    EXPECT_EQ(half_tls.exit_code, 1);
    EXPECT_EQ(half_tls.err, "tern: --ssl-cert and --ssl-key go together\n");
    const TernRun no_file = run_tern("serve -m missing.gguf --api-key-file " + (dir / "absent.txt").string());
    EXPECT_EQ(no_file.exit_code, 1);
    EXPECT_EQ(count_lines(no_file.err), 1u) << no_file.err;
}

TEST(Cli, InspectErrorsAreOneLineAndExitCode1) {
    testing::TempDir dir;
    auto truncated = testing::make_tiny_gguf();
    truncated.resize(100);
    testing::write_file(dir / "cut.gguf", truncated);
    testing::write_file(dir / "junk.bin", std::string("hello, world"));
    const std::pair<std::string, std::string> cases[] = {
        {(dir / "missing.gguf").string(), "cannot open: No such file or directory"},
        {(dir / "cut.gguf").string(), "(truncated or corrupt file)"},
        {(dir / "junk.bin").string(), "not a safetensors file or truncated"},
        {dir.path().string(), "no config.json"},
    };
    for (const auto& [path, expected] : cases) {
        const TernRun run = run_tern("inspect '" + path + "'");
        EXPECT_EQ(run.exit_code, 1) << path;
        EXPECT_EQ(count_lines(run.err), 1u) << run.err;
        EXPECT_NE(run.err.find(expected), std::string::npos) << run.err;
    }
}

TEST(Cli, InspectGgufPrintsEveryKeyAndTensorWithTotals) {
    testing::TempDir dir;
    testing::write_file(dir / "tiny.gguf", testing::make_tiny_gguf());
    const TernRun run = run_tern("inspect " + (dir / "tiny.gguf").string());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    for (const char* expected : {"GGUF v3, 8 metadata keys, 3 tensors, alignment 32", "architecture:  'llama'",
                                 "tokenizer.ggml.tokens", "[string x 3] '<unk>', 'a', 'b'",
                                 "llama.rope.freq_base", "10000", "blk.0.attn_q.weight", "TQ2_0", "[256, 2]",
                                 "parameters:      544 (0.000 B)", "tensor bytes:    212 (212 B)",
                                 "TQ2_0:           1 tensors, 512 parameters, 132 B, 2.0625 bits per weight"}) {
        EXPECT_NE(run.out.find(expected), std::string::npos) << "missing: " << expected << "\n" << run.out;
    }
}

TEST(Cli, InspectShowsEveryTypeAndTheI2sScale) {
    testing::TempDir dir;
    ASSERT_TRUE(testing::make_all_types_writer().write_to_file((dir / "all.gguf").string()).ok());
    const TernRun run = run_tern("inspect " + (dir / "all.gguf").string());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    for (const char* type : {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "TQ1_0", "TQ2_0"}) {
        EXPECT_NE(run.out.find(std::string("sample.") + type), std::string::npos) << type;
    }
    // quantize_i2_s stores scale = max|x|; the I2_S sample is the 10th tensor, seed 19.
    float scale = 0.0f;
    for (const float x : testing::random_floats(512, 19)) scale = std::max(scale, std::fabs(x));
    EXPECT_NE(run.out.find(str_cat("I2_S (scale ", scale, ")")), std::string::npos) << scale << "\n" << run.out;
    EXPECT_NE(run.out.find("parameters:      5,120 (0.000 B)"), std::string::npos) << run.out;
}

TEST(Cli, InspectSafetensorsAndHfFolder) {
    testing::TempDir dir;
    testing::write_file(dir / "model.safetensors", testing::make_tiny_safetensors());
    const TernRun file = run_tern("inspect " + (dir / "model.safetensors").string());
    ASSERT_EQ(file.exit_code, 0) << file.err;
    EXPECT_NE(file.out.find("safetensors, 3 tensors"), std::string::npos) << file.out;
    EXPECT_NE(file.out.find("'format'  'pt'"), std::string::npos) << file.out;

    // A transformers-style packed ternary checkpoint: U8 [out/4, in] plus a weight_scale.
    const std::string header =
        R"({"model.layers.0.mlp.down_proj.weight":{"dtype":"U8","shape":[2,8],"data_offsets":[0,16]},)"
        R"("model.layers.0.mlp.down_proj.weight_scale":{"dtype":"BF16","shape":[1],"data_offsets":[16,18]}})";
    testing::write_file(dir / "model.safetensors", testing::make_safetensors(header, std::vector<std::byte>(18)));
    testing::write_file(dir / "config.json",
                        std::string(R"({"architectures": ["BitNetForCausalLM"], "model_type": "bitnet",)"
                                    R"( "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear"}})"));
    const TernRun folder = run_tern("inspect " + dir.path().string());
    ASSERT_EQ(folder.exit_code, 0) << folder.err;
    for (const char* expected : {"Hugging Face checkpoint, 1 safetensors file(s), tokenizer.json absent",
                                 "'BitNetForCausalLM' (model_type 'bitnet')", "linear_class autobitlinear",
                                 "quantization_config.linear_class", "U8 (ternary x4)", "parameters:      65 ",
                                 "U8 (ternary x4): 1 tensors, 64 parameters, 16 B, 2.0000 bits per weight"}) {
        EXPECT_NE(folder.out.find(expected), std::string::npos) << "missing: " << expected << "\n" << folder.out;
    }
}

TEST(Cli, InspectSharedVocabulary) {
    const auto shared = testing::shared_dir();
    if (!shared) GTEST_SKIP() << "SKIPPED: ../shared is absent";
    const TernRun run = run_tern("inspect " + (*shared / "data/tokenizer/ggml-vocab-llama-spm.gguf").string());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("GGUF v3, 22 metadata keys, 0 tensors"), std::string::npos);
    EXPECT_NE(run.out.find("[string x 32000] '<unk>', '<s>', '</s>', '<0x00>'"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("llama.attention.layer_norm_rms_epsilon"), std::string::npos);
    EXPECT_NE(run.out.find("tensors (0)"), std::string::npos);
}

TEST(Cli, InfoReportsTheMachine) {
    const TernRun run = run_tern("info --no-bandwidth");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    for (const char* expected : {"cpu:", "simd (run-time):", "cores:", "caches:"}) {
        EXPECT_NE(run.out.find(expected), std::string::npos) << run.out;
    }
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) {
        EXPECT_NE(run.out.find("avx2"), std::string::npos);
    }
#endif
    EXPECT_NE(run.out.find("kernels:"), std::string::npos) << run.out;
    const TernRun forced = run_tern("info --no-bandwidth", "TERN_ISA=scalar");
    EXPECT_NE(forced.out.find("kernels:               scalar (from TERN_ISA)"), std::string::npos) << forced.out;
    EXPECT_NE(forced.out.find("autotune:              off: the ISA is forced"), std::string::npos) << forced.out;
    EXPECT_NE(run.out.find("autotune:              ternary GEMV and GEMM timed at model load among: "), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("complex (iFairy) and widely-linear (Fairy2i) kernels among: "), std::string::npos) << run.out;
    EXPECT_NE(forced.out.find("amx prefill:           off: the ISA is forced"), std::string::npos) << forced.out;
    const CpuFeatures cpu = detect_cpu_info().features;
    const char* amx_line = kernels::amx_ternary_gemm() == nullptr ? "amx prefill:           not built in"
                           : !(cpu.amx_tile && cpu.amx_int8)     ? "amx prefill:           no AMX-INT8 in this CPU"
                                                                 : "amx prefill:           ";
    EXPECT_NE(run.out.find(amx_line), std::string::npos) << run.out;
    const TernRun bogus = run_tern("info --no-bandwidth", "TERN_ISA=avx9");
    EXPECT_NE(bogus.out.find("TERN_ISA: unknown ISA 'avx9'"), std::string::npos) << bogus.out;
    const TernRun measured = run_tern("info --bandwidth-seconds 0.05");
    ASSERT_EQ(measured.exit_code, 0) << measured.err;
    EXPECT_NE(measured.out.find("GB/s with 1 thread"), std::string::npos) << measured.out;
}

TEST(Cli, BenchKernelsTimesEveryRequestedKernel) {
    const TernRun run = run_tern("bench --kernels -t 1 --gemm-tokens 0 --no-head --no-complex --seconds 0.01 --stream-mb 1 --json");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto report = nlohmann::json::parse(run.out);
    // The four 2B4T projection shapes, GEMV only, for every fast ISA this machine runs, and
    // the base-3 kernels of those that have them.
    size_t n_tables = 0;
    for (const kernels::Isa isa : kernels::isas_supported_here())
        if (isa != kernels::Isa::kScalar || kernels::isas_supported_here().size() == 1)
            n_tables += 1 + (kernels::kernel_table(isa, kernels::Packing::kBase3) != nullptr);
    ASSERT_EQ(report["points"].size(), 4 * n_tables);
    for (const auto& point : report["points"]) {
        EXPECT_EQ(point["op"], "gemv");
        EXPECT_GT(point["gb_per_s"].get<double>(), 0.0);
    }
    EXPECT_GT(report["read_bandwidth_gb_per_s"][0]["gb_per_s"].get<double>(), 0.0);
}

// The complex families' decode kernels: iFairy's complex GEMV at two shapes, Fairy2i's
// widely-linear GEMV on both activation paths, for every table timed.
TEST(Cli, BenchKernelsTimesTheComplexKernels) {
    const TernRun run = run_tern("bench --kernels -t 1 --gemm-tokens 0 --no-head --seconds 0.01 --stream-mb 1 --json");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto report = nlohmann::json::parse(run.out);
    std::map<std::string, size_t> points_per_op;
    std::set<std::string> isas;
    for (const auto& point : report["points"]) {
        ++points_per_op[point["op"].get<std::string>()];
        isas.insert(point["isa"].get<std::string>());
        EXPECT_GT(point["gb_per_s"].get<double>(), 0.0) << point.dump();
    }
    EXPECT_EQ(points_per_op["complex gemv"], 2 * isas.size());
    EXPECT_EQ(points_per_op["wl int8 gemv"], isas.size());
    EXPECT_EQ(points_per_op["wl f32 gemv"], isas.size());
}

TEST(Cli, BenchErrorsAreOneLine) {
    const TernRun nothing = run_tern("bench");
    EXPECT_EQ(nothing.exit_code, 1);
    EXPECT_EQ(nothing.err, "tern: bench: nothing to measure; pass -m MODEL, --synthetic SHAPE or --kernels\n");
    const TernRun bad_isa = run_tern("bench --kernels --isa sse9");
    EXPECT_EQ(bad_isa.exit_code, 1);
    EXPECT_EQ(bad_isa.err, "tern: --isa unknown ISA 'sse9' (expected scalar, avx2, avx512, avx512vnni, neon, neondot or neoni8mm)\n");
    const TernRun bad_threads = run_tern("bench --kernels -t 0");
    EXPECT_EQ(bad_threads.exit_code, 2);
}

}  // namespace
}  // namespace tern
