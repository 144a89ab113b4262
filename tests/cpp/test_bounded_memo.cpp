// BoundedMemo (src/common/bounded_memo.h): the sm90 tensor maps are kept
// with it, so a wrong hit would launch a kernel on another tensor.
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>

#include "common/bounded_memo.h"

namespace fa3jit::detail {
namespace {

TEST(BoundedMemo, MakesEachKeyOnceAndKeepsItsOwnValue) {
  BoundedMemo<int, int, std::hash<int>> memo(8);
  int made = 0;
  auto square = [&](int k) { return [&made, k] { ++made; return k * k; }; };
  EXPECT_EQ(memo.get(3, square(3)), 9);
  EXPECT_EQ(memo.get(4, square(4)), 16);
  EXPECT_EQ(memo.get(3, square(3)), 9);
  EXPECT_EQ(memo.get(4, square(4)), 16);
  EXPECT_EQ(made, 2);
  EXPECT_EQ(memo.size(), 2u);
}

TEST(BoundedMemo, DropsEverythingPastItsCapacity) {
  BoundedMemo<int, int, std::hash<int>> memo(2);
  int made = 0;
  auto twice = [&](int k) { return [&made, k] { ++made; return 2 * k; }; };
  memo.get(1, twice(1));
  memo.get(2, twice(2));
  EXPECT_EQ(memo.get(3, twice(3)), 6);  // full: 1 and 2 dropped
  EXPECT_EQ(memo.size(), 1u);
  EXPECT_EQ(memo.get(1, twice(1)), 2);  // made again
  EXPECT_EQ(made, 4);
}

TEST(BoundedMemo, KeepsNothingWhenMakeThrows) {
  BoundedMemo<int, int, std::hash<int>> memo(4);
  EXPECT_THROW(memo.get(5, []() -> int { throw std::runtime_error("encode failed"); }), std::runtime_error);
  EXPECT_EQ(memo.size(), 0u);
  EXPECT_EQ(memo.get(5, [] { return 7; }), 7);
}

}  // namespace
}  // namespace fa3jit::detail
