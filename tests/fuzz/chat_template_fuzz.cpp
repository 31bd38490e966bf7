// libFuzzer target: any text as a Jinja chat template, parsed and rendered with a small
// conversation. It must fail cleanly or render within its bounds, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tokenizer/jinja/jinja_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tern::tokenizer::jinja;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    tern::Result<JinjaTemplate> parsed = JinjaTemplate::parse(text);
    if (!parsed.ok()) return 0;
    Object user{{"role", Value::of("user")}, {"content", Value::of(Text::from_message("hi <|eot_id|>"))}};
    Object reply{{"role", Value::of("assistant")}, {"content", Value::of(Text::from_message(" ok "))}};
    const Object variables = {{"messages", Value::of(Array{Value::of(user), Value::of(reply)})},
                              {"add_generation_prompt", Value::of(true)},
                              {"bos_token", Value::of("<s>")},
                              {"eos_token", Value::of("</s>")}};
    const tern::Result<Text> out = parsed.value().render(variables);
    if (out.ok() && !out.value().untrusted.empty() && out.value().untrusted.size() != out.value().text.size())
        __builtin_trap();   // the trust mask must cover the text exactly
    return 0;
}
