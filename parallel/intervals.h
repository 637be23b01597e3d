// Time intervals on one clock, and the three operations the comm figure needs.
//
// An Interval is [begin, end) in microseconds; an empty or reversed one
// (end <= begin) covers nothing. Every function takes intervals in any order,
// overlapping or not, and returns a union: sorted, disjoint, none empty.
//   union_of(a)      the time covered by any interval of a
//   minus(a, b)      the time covered by a and by no interval of b
//   covered_us(a)    the length of union_of(a)
// The decision a reader would get wrong: covered_us(a) is not the sum of the
// lengths: two copies running at once on two streams count once, which is
// what "wall time during which some movement runs" means (comm_clock.h).
#pragma once

#include <vector>

namespace cudp {

struct Interval {
  double begin = 0, end = 0;
};

std::vector<Interval> union_of(std::vector<Interval> a);
std::vector<Interval> minus(const std::vector<Interval>& a, const std::vector<Interval>& b);
double covered_us(const std::vector<Interval>& a);

}  // namespace cudp
