// --draft for the commands that generate (run, chat): where speculative decoding's guesses
// come from, and the generator options that go with it.
#pragma once

#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/model_setup.h"
#include "engine/drafter.h"
#include "engine/speculative_generator.h"

namespace tern::cli {

// The drafter --draft asks for, with the draft model it runs (if any).
struct DraftSetup {
    std::unique_ptr<LoadedModel> draft_model;
    std::unique_ptr<engine::Drafter> drafter;   // null: plain decoding
    engine::SpeculativeOptions generator_options;
};

// The draft model --draft names, loaded like the model. Errors: it cannot be loaded, or its
// vocabulary is not the target's (its guesses would be other tokens' ids).
Result<LoadedModel> load_draft_model(const std::string& source, const LoadedModel& target, const ModelRequest& request);

// A draft model runs on the target's pool (drafting and checking take turns). Errors: the
// draft model cannot be loaded, or its vocabulary is not the target's (its guesses would be
// other tokens' ids).
Result<DraftSetup> make_draft_setup(const DraftOptions& options, const LoadedModel& target, ThreadPool& pool,
                                    size_t n_ctx, const ModelRequest& request);

// "speculative: 212 guesses checked, 131 held (62 %), 180 tokens in 92 steps", or "" without a
// drafter.
std::string describe_speculation(const DraftSetup& setup, const engine::SpeculativeStats& stats);

}  // namespace tern::cli
