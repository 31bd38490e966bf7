// What the tests of every model family share: tern's perplexity on the held-out text and its
// greedy continuation (through the real binary, as a user runs them), and how close two sets of
// logits are (largest difference, largest magnitude, positions whose argmax agrees).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "cli/run_tern.h"

namespace tern::testing {

// `tern perplexity -m MODEL -f <held-out text> -c CTX --chunks CHUNKS`: the final estimate, or
// nothing (with a test failure) when the command fails or scores another number of chunks.
inline std::optional<double> tern_perplexity(const std::string& model, int ctx, size_t chunks) {
    const TernRun run = run_tern("perplexity -m " + model + " -f " + std::string(TERN_VALID_TEXT) + " -c " +
                                 std::to_string(ctx) + " --chunks " + std::to_string(chunks) + " -t 2");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    const size_t at = run.out.find("Final estimate: PPL = ");
    EXPECT_NE(at, std::string::npos) << run.out;
    if (run.exit_code != 0 || at == std::string::npos) return std::nullopt;
    EXPECT_NE(run.out.find("(" + std::to_string(chunks) + " chunks"), std::string::npos) << run.out;
    return std::stod(run.out.substr(at + 22));
}

// tern_perplexity() at the card's "perplexity_ctx" over the chunks of card[key] ({"chunks": N,
// "perplexity": P, ...}) is within 0.1 % of P.
inline void expect_prefix_perplexity(const std::string& model, const nlohmann::json& card, const std::string& key) {
    const nlohmann::json& reference = card.at(key);
    const std::optional<double> ppl =
        tern_perplexity(model, card.at("perplexity_ctx").get<int>(), reference.at("chunks").get<size_t>());
    const double expected = reference.at("perplexity").get<double>();
    if (ppl) {
        EXPECT_NEAR(*ppl, expected, 0.001 * expected);
    }
}

// `tern run -m MODEL -p PROMPT -n TOKENS --temp 0 --no-echo` and any extra flags: its stdout.
inline std::string greedy_text(const std::string& model, const std::string& prompt, int tokens,
                               const std::string& extra_flags = "") {
    const TernRun run = run_tern("run -m " + model + " -p '" + prompt + "' -n " + std::to_string(tokens) +
                                 " --temp 0 --no-echo -t 2 " + extra_flags);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return run.out;
}

struct LogitAgreement {
    double max_diff = 0;       // largest |got - expected|
    double max_abs = 0;        // largest |expected|
    size_t argmax_equal = 0;   // positions whose largest logit is the same token
};

// Rows of `vocab` logits, position after position.
template <class Got, class Expected>
LogitAgreement compare_logits(const Got& got, const Expected& expected, size_t vocab) {
    LogitAgreement a;
    EXPECT_EQ(got.size(), expected.size());
    const size_t n = std::min(got.size(), expected.size());
    for (size_t i = 0; i < n; ++i) {
        a.max_diff = std::max(a.max_diff, std::fabs(static_cast<double>(got[i]) - static_cast<double>(expected[i])));
        a.max_abs = std::max(a.max_abs, std::fabs(static_cast<double>(expected[i])));
    }
    for (size_t p = 0; p + 1 <= n / vocab; ++p) {
        const auto at = [&](const auto& v) {
            return std::max_element(v.begin() + p * vocab, v.begin() + (p + 1) * vocab) - v.begin();
        };
        a.argmax_equal += at(got) == at(expected) ? 1 : 0;
    }
    return a;
}

}  // namespace tern::testing
