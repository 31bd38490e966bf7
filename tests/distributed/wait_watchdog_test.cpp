// The watchdog that bounds a rank's waits for the others, without MPI: a stand-in report
// function records what a stuck rank would print before ending its process.
#include "distributed/wait_watchdog.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

namespace tern::distributed {
namespace {

using namespace std::chrono_literals;

struct Reports {
    std::mutex mutex;
    std::vector<std::string> lines;
    void add(const std::string& line) {
        std::lock_guard lock(mutex);
        lines.push_back(line);
    }
    std::vector<std::string> taken() {
        std::lock_guard lock(mutex);
        return lines;
    }
};

TEST(WaitWatchdog, AWaitPastTheLimitIsReportedNamingTheRankAndTheWait) {
    Reports reports;
    WaitWatchdog watchdog(100ms, 2, [&](const std::string& line) { reports.add(line); });
    {
        const WaitWatchdog::Scope waiting(&watchdog, "exchanging a layer's outputs");
        std::this_thread::sleep_for(400ms);
    }
    const std::vector<std::string> lines = reports.taken();
    ASSERT_EQ(lines.size(), 1u);   // reported once, not at every check
    EXPECT_EQ(lines[0], "rank 2: waited 0.1 s for the other ranks (exchanging a layer's outputs); one of them has "
                        "stopped or its host is unreachable: ending the job (--split-timeout sets the limit)");
}

TEST(WaitWatchdog, ShortWaitsAndTimeBetweenWaitsAreNot) {
    Reports reports;
    WaitWatchdog watchdog(200ms, 0, [&](const std::string& line) { reports.add(line); });
    for (int i = 0; i < 20; ++i) {
        const WaitWatchdog::Scope waiting(&watchdog, "agreeing on a flag");
        std::this_thread::sleep_for(10ms);
    }
    std::this_thread::sleep_for(500ms);   // no wait open: an idle rank is not stuck
    EXPECT_TRUE(reports.taken().empty());
}

TEST(WaitWatchdog, ANullWatchdogScopeDoesNothing) {
    const WaitWatchdog::Scope waiting(nullptr, "anything");
    SUCCEED();
}

}  // namespace
}  // namespace tern::distributed
