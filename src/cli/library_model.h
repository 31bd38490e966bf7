// How the commands that run a model load it through the public library (include/tern/): the
// flags they share become tern::LoadOptions; Hub downloads and large repacks show progress on
// stderr; warnings go to stderr; under --split the followers run here to the end.
#pragma once

#include <optional>
#include <string>

#include "cli/commands.h"
#include "tern/model.h"

namespace tern::cli {

// The flags every model-running command has, bench included: packing, the complex families'
// weights and activations, the KV cache type and the split.
template <class Flags>
void copy_model_flags(const Flags& flags, LoadOptions& load) {
    load.packing = flags.packing;
    load.weights = flags.weights;
    load.activations = flags.activations;
    load.kv_type = kernels::kv_type_name(flags.kv_type);
    load.split = flags.split.kind;
    load.split_wait_seconds = flags.split.wait_limit_seconds;
}

// RunOptions, PerplexityOptions, ChatOptions, ... (one thread count, ISA and head each).
template <class Flags>
LoadOptions load_options_from(const Flags& flags) {
    LoadOptions load;
    load.threads = flags.threads;
    load.isa = flags.isa;
    load.head = flags.head;
    copy_model_flags(flags, load);
    return load;
}

// Model::load with the progress lines and warnings of a terminal program.
Result<Model> load_for_command(const std::string& model, LoadOptions options);

// --draft MODEL: the draft model, loaded like the model (same kernels, head, packing) but
// unsplit (only rank 0 drafts), on the target's thread count, with its own context and no chat
// template; nullopt for plain decoding or --draft ngram.
Result<std::optional<Model>> load_draft_model(const DraftOptions& draft, const Model& target, LoadOptions options);

// --draft, --draft-max and --draft-fixed as generation options (draft_model must outlive them).
void apply_draft(const DraftOptions& draft, const std::optional<Model>& draft_model, GenerateOptions& options);

// Under --split, every rank but 0: follows rank 0 to the end (SIGINT and SIGTERM ignored: the
// leader decides when the job ends, and mpirun signals every rank). The exit code.
int follow_rank_zero(const Model& model);

}  // namespace tern::cli
