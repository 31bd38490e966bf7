#include <gtest/gtest.h>

#include "sampling/stop_matcher.h"

namespace tern::sampling {
namespace {

// Feeds `pieces` one at a time; returns everything shown.
std::string feed(StopMatcher& m, const std::vector<std::string>& pieces, std::vector<std::string>* shown = nullptr) {
    std::string all;
    for (const std::string& p : pieces) {
        const std::string out = m.push(p);
        if (shown) shown->push_back(out);
        all += out;
    }
    return all + m.flush();
}

TEST(StopMatcher, StopSpanningTokensIsCutAndNeverShownInPart) {
    StopMatcher m({"The end"});
    std::vector<std::string> shown;
    EXPECT_EQ(feed(m, {"Happy.", " The", " e", "nd", " more"}, &shown), "Happy. ");
    EXPECT_TRUE(m.stopped());
    // " The" could begin the stop string: held back, then cut.
    EXPECT_EQ(shown, (std::vector<std::string>{"Happy.", " ", "", "", ""}));
}

TEST(StopMatcher, FalseStartIsReleased) {
    StopMatcher m({"The end"});
    std::vector<std::string> shown;
    EXPECT_EQ(feed(m, {"The", " e", "gg"}, &shown), "The egg");
    EXPECT_FALSE(m.stopped());
    EXPECT_EQ(shown, (std::vector<std::string>{"", "", "The egg"}));
}

TEST(StopMatcher, EarliestOfSeveralStopsWinsAndHeldTextFlushesAtTheEnd) {
    StopMatcher m({"world", "lo w", "\n\n"});
    EXPECT_EQ(feed(m, {"hel", "lo", " wor", "ld"}), "hel");
    StopMatcher n({"xyz"});
    EXPECT_EQ(feed(n, {"abc", "xy"}), "abcxy");   // generation ended: the held "xy" is shown
    StopMatcher none({});
    EXPECT_EQ(feed(none, {"a", "b"}), "ab");
    StopMatcher empty_stop({""});   // ignored rather than stopping at once
    EXPECT_EQ(feed(empty_stop, {"a"}), "a");
}

TEST(StopMatcher, StopInsideOneTokenAndMultibyteText) {
    StopMatcher m({"ö!"});
    std::vector<std::string> shown;
    EXPECT_EQ(feed(m, {"schö", "!", "x"}, &shown), "sch");
    EXPECT_EQ(shown[0], "sch");   // the whole two-byte "ö" held back, never half of it
    StopMatcher r({"ö!"});
    EXPECT_EQ(feed(r, {"schö", "n"}), "schön");
    StopMatcher k({"END"});
    EXPECT_EQ(feed(k, {"aENDb"}), "a");
}

}  // namespace
}  // namespace tern::sampling
