// A parsed Jinja chat template, rendered the way Hugging Face renders chat templates
// (trim_blocks, lstrip_blocks, loop controls, raise_exception, tojson, strftime_now). Hostile
// or broken templates fail with an Error naming the line; rendering is bounded (output size,
// loop iterations, macro depth), so no template can hang or exhaust the process.
#pragma once

#include <memory>
#include <string_view>

#include "tern/status.h"
#include "tokenizer/jinja/jinja_ast.h"
#include "tokenizer/jinja/jinja_value.h"

namespace tern::tokenizer::jinja {

class JinjaTemplate {
public:
    static Result<JinjaTemplate> parse(std::string_view source);
    // Renders with `variables` (messages, add_generation_prompt, bos_token, ...) beside the
    // built-in functions. The text's untrusted bytes are those that came from untrusted strings.
    Result<Text> render(const Object& variables) const;

private:
    std::shared_ptr<const Body> body_;
};

}  // namespace tern::tokenizer::jinja
