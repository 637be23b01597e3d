// Interval unions and differences (see intervals.h): sort, then one sweep.
#include "parallel/intervals.h"

#include <algorithm>

namespace cudp {

std::vector<Interval> union_of(std::vector<Interval> a) {
  a.erase(std::remove_if(a.begin(), a.end(), [](const Interval& i) { return i.end <= i.begin; }),
          a.end());
  std::sort(a.begin(), a.end(),
            [](const Interval& x, const Interval& y) { return x.begin < y.begin; });
  std::vector<Interval> out;
  for (const Interval& i : a) {
    if (!out.empty() && i.begin <= out.back().end)
      out.back().end = std::max(out.back().end, i.end);  // overlaps or touches the last one
    else
      out.push_back(i);
  }
  return out;
}

std::vector<Interval> minus(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  const std::vector<Interval> keep = union_of(a), cut = union_of(b);
  std::vector<Interval> out;
  std::size_t j = 0;  // the first interval of cut that may still overlap
  for (Interval i : keep) {
    while (j < cut.size() && cut[j].end <= i.begin) ++j;
    for (std::size_t k = j; k < cut.size() && cut[k].begin < i.end; ++k) {
      if (cut[k].begin > i.begin) out.push_back({i.begin, cut[k].begin});
      i.begin = std::max(i.begin, cut[k].end);
    }
    if (i.end > i.begin) out.push_back(i);
  }
  return out;
}

double covered_us(const std::vector<Interval>& a) {
  double total = 0;
  for (const Interval& i : union_of(a)) total += i.end - i.begin;
  return total;
}

}  // namespace cudp
