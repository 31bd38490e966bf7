#include "core/str_cat.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

TEST(StrCat, FormatsNumbersAndSizes) {
    EXPECT_EQ(str_cat("a", 1, '-', 2.5), "a1-2.5");
    EXPECT_EQ(hex(0x3a1000), "0x3a1000");
    EXPECT_EQ(with_commas(0), "0");
    EXPECT_EQ(with_commas(999), "999");
    EXPECT_EQ(with_commas(8030261248ull), "8,030,261,248");
    EXPECT_EQ(human_bytes(17), "17 B");
    EXPECT_EQ(human_bytes(1536), "1.50 KiB");
    EXPECT_EQ(human_bytes(3ull << 30), "3.00 GiB");
}

TEST(StrCat, QuotedEscapesHostileText) {
    EXPECT_EQ(quote("blk.0"), "'blk.0'");
    EXPECT_EQ(quote(std::string("a\nb\x01'\\", 6)), "'a\\nb\\x01\\'\\\\'");
    EXPECT_EQ(quote("abcdef", 3), "'abc'... (6 bytes)");
    EXPECT_EQ(escaped("tab\there"), "tab\\there");
}

}  // namespace
}  // namespace tern
