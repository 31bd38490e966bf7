// tern convert / tern quantize at their boundaries: bad flags, folders and files get one line
// naming the problem, exit 1, and leave nothing under the output name.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "cli/run_tern.h"
#include "testing/test_files.h"

namespace tern {
namespace {

const std::filesystem::path kShipped = std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories" / "hf";
const std::filesystem::path kFloat = std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories-fairy2i" / "float-hf";

std::filesystem::path shipped_copy(const testing::TempDir& dir, const std::string& name) {
    const std::filesystem::path copy = dir / name;
    std::filesystem::create_directories(copy);
    for (const auto& entry : std::filesystem::directory_iterator(kShipped))
        std::filesystem::copy_file(entry.path(), copy / entry.path().filename());
    return copy;
}

// A copy of the shipped folder whose safetensors file is cut to `keep` bytes.
std::filesystem::path truncated_copy(const testing::TempDir& dir, size_t keep) {
    const std::filesystem::path copy = shipped_copy(dir, "cut");
    std::filesystem::resize_file(copy / "model.safetensors", keep);
    return copy;
}

// A copy whose config.json has `from` replaced by `to`: the tensors then disagree with it.
std::filesystem::path reconfigured_copy(const testing::TempDir& dir, const std::string& name, const std::string& from,
                                        const std::string& to) {
    const std::filesystem::path copy = shipped_copy(dir, name);
    const auto bytes = testing::read_file(copy / "config.json");
    std::string config(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    config.replace(config.find(from), from.size(), to);
    testing::write_file(copy / "config.json", config);
    return copy;
}

void expect_one_line_failure(const std::string& args, const std::string& output, const std::string& expected_part) {
    const TernRun run = run_tern(args);
    EXPECT_EQ(run.exit_code, 1) << args;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_NE(run.err.find(expected_part), std::string::npos) << run.err;
    EXPECT_FALSE(std::filesystem::exists(output)) << output;
    EXPECT_FALSE(std::filesystem::exists(output + ".tmp")) << output;
}

TEST(ConvertCommand, BadInputGetsOneLineAndLeavesNothing) {
    testing::TempDir dir;
    const std::string out = (dir / "out.gguf").string();
    const std::string shipped = kShipped.string();
    expect_one_line_failure("convert " + shipped + " -o " + out + " --type q4_0", out,
                            "tern: convert: --type 'q4_0' is not supported (i2_s, tq2_0, tq1_0)");
    expect_one_line_failure("convert " + shipped + " -o " + out + " --head q4_k", out, "--head 'q4_k' is not supported");
    expect_one_line_failure("convert " + shipped + " -o " + out + " --method gptq9", out, "--method 'gptq9' is not supported");
    expect_one_line_failure("convert " + shipped + " -o " + out + " --method absmean", out,
                            "--method absmean ternarises float LlamaForCausalLM / MistralForCausalLM weights; this folder "
                            "is 'BitNetForCausalLM'");
    expect_one_line_failure("convert " + kFloat.string() + " -o " + out, out,
                            "LlamaForCausalLM without quantization_config.quant_method 'bitnet' or 'fairy2i' is a float model");
    expect_one_line_failure("convert " + kFloat.string() + " -o " + out + " --method rowfit", out,
                            "tern: convert: --method rowfit needs --calibration FILE (text)");
    expect_one_line_failure("convert " + kFloat.string() + " -o " + out + " --method absmean --calibration " + shipped, out,
                            "--calibration is used by --method rowfit or gptq only");
    expect_one_line_failure("convert " + kFloat.string() + " -o " + out + " --method gptq --calibration " +
                                (dir / "missing.txt").string(), out, "missing.txt");
    expect_one_line_failure("convert " + truncated_copy(dir, 100000).string() + " -o " + out, out, "model.safetensors");
    expect_one_line_failure("convert " + reconfigured_copy(dir, "deeper", "\"num_hidden_layers\": 6", "\"num_hidden_layers\": 7").string() +
                                " -o " + out, out, "missing 'model.layers.6.input_layernorm.weight'");
    expect_one_line_failure("convert " + reconfigured_copy(dir, "wider", "\"intermediate_size\": 512", "\"intermediate_size\": 768").string() +
                                " -o " + out, out, "has shape [128, 256], expected [192, 256] (n_ff / 4, n_embd)");
    expect_one_line_failure("convert " + (dir / "no-such-folder").string() + " -o " + out, out, "no-such-folder");
    const std::string unwritable = (dir / "missing-dir" / "out.gguf").string();
    expect_one_line_failure("convert " + shipped + " -o " + unwritable, unwritable, "missing-dir");
}

TEST(QuantizeCommand, BadInputGetsOneLineAndLeavesNothing) {
    testing::TempDir dir;
    const std::string model = (dir / "tiny.gguf").string();
    const TernRun synth = run_tern("synth --shape tiny --type tq2_0 -o " + model);
    ASSERT_EQ(synth.exit_code, 0) << synth.err;
    const std::string out = (dir / "out.gguf").string();
    expect_one_line_failure("quantize " + model + " " + out + " --type tq3_0", out, "--type 'tq3_0' is not supported");
    expect_one_line_failure("quantize " + (dir / "missing.gguf").string() + " " + out, out, "missing.gguf");
    testing::write_file(dir / "cut.gguf", std::string(reinterpret_cast<const char*>(testing::read_file(model).data()), 5000));
    expect_one_line_failure("quantize " + (dir / "cut.gguf").string() + " " + out, out, "cut.gguf");
    const TernRun ok = run_tern("quantize " + model + " " + out + " --type tq1_0 --head f16");
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_NE(ok.err.find("TQ1_0 projections, tied F16 head"), std::string::npos) << ok.err;
    const TernRun run = run_tern("run -m " + out + " --ids '1 17 250' -n 4 --temp 0 -t 1");
    EXPECT_EQ(run.exit_code, 0) << run.err;
}

}  // namespace
}  // namespace tern
