// libFuzzer target: any bytes as a SentencePiece tokenizer.model; a vocabulary that loads must
// also make a working tokenizer.
#include <cstddef>
#include <cstdint>
#include <span>

#include "tokenizer/spm_model_file.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto vocab = tern::tokenizer::vocabulary_from_spm_model(std::as_bytes(std::span(data, size)));
    if (!vocab.ok()) return 0;
    auto tokenizer = tern::tokenizer::Tokenizer::from_vocabulary(std::move(vocab).value());
    if (tokenizer.ok()) {
        const auto ids = tokenizer.value().encode("Once upon a time \xe2\x98\x83", true, true);
        (void)tokenizer.value().decode(ids);
    }
    return 0;
}
