// Hyper-parameters of a decoder, read from GGUF metadata ([arch].*) or a Hugging Face
// config.json, validated once so that the loader and the forward pass can trust them.
#pragma once

#include <cstddef>
#include <string_view>

#include "format/gguf_reader.h"
#include "model/architecture.h"
#include "tern/status.h"

namespace tern::model {

struct Hparams {
    size_t n_vocab = 0;
    size_t n_embd = 0;
    size_t n_layer = 0;
    size_t n_ff = 0;
    size_t n_head = 0;
    size_t n_head_kv = 0;
    size_t head_dim = 0;
    size_t n_ctx_train = 0;
    float rope_theta = 10000.0f;
    float norm_eps = 1e-5f;

    size_t q_dim() const { return n_head * head_dim; }
    size_t kv_dim() const { return n_head_kv * head_dim; }
    size_t dim(Dim d) const;
};

// Checks ranges and divisibility (heads by kv heads, even head_dim); names the bad field. A
// family without attention (recurrent) has one "head" as wide as n_embd: its head size is
// not bounded by what the attention kernels handle.
Status validate_hparams(const Hparams& hp, bool attention = true);

// `arch_key` is the file's general.architecture (the metadata prefix); n_vocab comes from
// [arch].vocab_size when present, else from `vocab_rows` (token_embd's row count).
Result<Hparams> hparams_from_gguf(const format::GgufContents& gguf, std::string_view arch_key, size_t vocab_rows);

}  // namespace tern::model
