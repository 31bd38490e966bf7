// libFuzzer target: any bytes as a tokenizer.json. It must be refused with an error or give a
// tokenizer that encodes and decodes hostile text (special tokens parsed or not, invalid UTF-8)
// with every id inside the vocabulary; never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tern::tokenizer;
    const std::string_view json(reinterpret_cast<const char*>(data), size);
    tern::Result<Vocabulary> vocab = vocabulary_from_hf_json(json, "");
    if (!vocab.ok()) return 0;
    tern::Result<Tokenizer> tokenizer = Tokenizer::from_vocabulary(std::move(vocab).value());
    if (!tokenizer.ok()) return 0;
    const std::string texts[] = {"", " Hello  world! 123456 \xc2\xa8\xef\xac\x81 <tool>\n\n\t", "\xff\xfe\xc3(\x80 a",
                                 "   \xe3\x80\x80x\xe2\x80", std::string(json.substr(0, 200))};
    for (const std::string& text : texts)
        for (const bool special : {false, true}) {
            const std::vector<int32_t> ids = tokenizer.value().encode(text, true, special);
            for (const int32_t id : ids)
                if (id < 0 || static_cast<size_t>(id) >= tokenizer.value().vocab().size()) __builtin_trap();
            (void)tokenizer.value().decode(ids, special);
        }
    return 0;
}
