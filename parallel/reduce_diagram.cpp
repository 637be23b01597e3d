// See reduce_diagram.h.
#include "parallel/reduce_diagram.h"

#include <algorithm>
#include <sstream>

namespace cudp {
namespace {

std::string label(int rank, const std::vector<std::string>& names) {
  return rank >= 0 && rank < static_cast<int>(names.size()) ? names[static_cast<size_t>(rank)]
                                                            : std::to_string(rank);
}

// The level of the edge `to` <- `from` in `levels`, -1 if it has none.
int level_of(const std::vector<std::vector<Edge>>& levels, int to, int from) {
  for (std::size_t l = 0; l < levels.size(); ++l)
    for (const Edge& e : levels[l])
      if (e.to == to && e.from == from) return static_cast<int>(l);
  return -1;
}

struct TreeLine {
  std::string left;  // "|   `-- 3"
  int reduce_level, broadcast_level;
};

// Depth first from `node`: its children in the order the reduce adds them.
void walk(int node, const std::string& indent, const std::vector<std::vector<int>>& children,
          const std::vector<std::vector<Edge>>& reduce, const std::vector<std::vector<Edge>>& bcast,
          const std::vector<std::string>& names, std::vector<TreeLine>* lines) {
  const auto& kids = children[static_cast<size_t>(node)];
  for (std::size_t i = 0; i < kids.size(); ++i) {
    const bool last = i + 1 == kids.size();
    const int child = kids[i];
    lines->push_back({indent + (last ? "`-- " : "|-- ") + label(child, names),
                      level_of(reduce, node, child), level_of(bcast, child, node)});
    walk(child, indent + (last ? "    " : "|   "), children, reduce, bcast, names, lines);
  }
}

// The tree both orders share, or "" when the reduce's edges are not a tree
// rooted at `root` (each device but the root sending exactly once).
std::string draw_tree(int ranks, int root, const std::vector<std::vector<Edge>>& reduce,
                      const std::vector<std::vector<Edge>>& bcast,
                      const std::vector<std::string>& names) {
  std::vector<int> parent(static_cast<size_t>(ranks), -1);
  std::vector<std::vector<int>> children(static_cast<size_t>(ranks));
  for (const auto& level : reduce)
    for (const Edge& e : level) {
      if (e.from < 0 || e.from >= ranks || e.to < 0 || e.to >= ranks || e.from == root ||
          parent[static_cast<size_t>(e.from)] != -1)
        return "";
      parent[static_cast<size_t>(e.from)] = e.to;
      children[static_cast<size_t>(e.to)].push_back(e.from);  // levels in order: adding order
    }
  std::vector<TreeLine> lines;
  walk(root, "", children, reduce, bcast, names, &lines);
  if (static_cast<int>(lines.size()) != ranks - 1) return "";  // a cycle left some out
  std::size_t width = 0;
  for (const TreeLine& line : lines) width = std::max(width, line.left.size());
  std::ostringstream out;
  out << "the tree: a device sends its sum to its parent, and gets the result from it\n";
  out << "  " << label(root, names) << "\n";
  for (const TreeLine& line : lines) {
    std::string left = line.left;
    left.resize(width + 2, ' ');
    out << "  " << left << "reduce level " << line.reduce_level << ", broadcast level "
        << line.broadcast_level << "\n";
  }
  return out.str();
}

std::string levels_count(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " level" : " levels");
}

}  // namespace

std::string draw_levels(const std::vector<std::vector<Edge>>& levels, const char* arrow,
                        const std::vector<std::string>& names) {
  const bool receiver_first = std::string(arrow).find('<') != std::string::npos;
  const std::size_t digits = std::to_string(levels.empty() ? 0 : levels.size() - 1).size();
  std::ostringstream out;
  for (std::size_t l = 0; l < levels.size(); ++l) {
    std::string number = std::to_string(l);
    number.insert(0, digits - number.size(), ' ');
    out << "  level " << number << ": ";
    for (const Edge& e : levels[l])
      out << (&e == &levels[l].front() ? " " : "    ")
          << label(receiver_first ? e.to : e.from, names) << arrow
          << label(receiver_first ? e.from : e.to, names);
    out << "\n";
  }
  return out.str();
}

namespace {

// "  step 0:  0 <- 3:s3   1 <- 0:s0 ...\n" per step of the ring.
std::string draw_steps(const std::vector<std::vector<SliceEdge>>& steps,
                       const std::vector<std::string>& names) {
  std::ostringstream out;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    out << "  step " << s << ": ";
    for (const SliceEdge& h : steps[s])
      out << "  " << label(h.to, names) << " <- " << label(h.from, names) << ":s" << h.slice;
    out << "\n";
  }
  return out.str();
}

// The ring: its order round the devices, the reduce-scatter, who holds which
// sum after it, then the all-gather (ddp) and the gather (dp).
std::string ring_diagram(int ranks, const std::vector<std::string>& names) {
  std::ostringstream out;
  out << "the ring: ";
  for (int r = 0; r < ranks; ++r) out << label(r, names) << " -> ";
  out << label(0, names) << ", the buffer cut into " << ranks << " slices s0..s" << ranks - 1
      << "\n";
  const auto scatter = ring_steps(ranks, RingPhase::ReduceScatter);
  auto steps = [](std::size_t n) { return std::to_string(n) + (n == 1 ? " step" : " steps"); };
  out << "reduce-scatter, " << steps(scatter.size())
      << "; \"a <- b:s\": a adds slice s of b's buffer\n"
      << draw_steps(scatter, names);
  out << "after it device c-1 holds slice c's sum:";
  for (int c = 0; c < ranks; ++c) out << "  " << label(ring_owner(ranks, c), names) << ": s" << c;
  out << "\n";
  const auto gather = ring_steps(ranks, RingPhase::AllGather);
  out << "all-gather (ddp), " << steps(gather.size())
      << "; \"a <- b:s\": a copies slice s of b's buffer\n"
      << draw_steps(gather, names);
  out << "gather (dp): " << label(0, names) << " copies each other slice from the device "
      << "that holds its sum\n"
      << draw_steps(ring_steps(ranks, RingPhase::Gather), names);
  return out.str();
}

}  // namespace

std::string reduce_diagram(int ranks, ReduceAlgorithm algorithm, int root,
                           const std::vector<std::string>& names) {
  const char* name = reduce_algorithm_name(algorithm);
  if (ranks <= 1) return "one device (" + label(0, names) + "): nothing to reduce or broadcast\n";
  if (algorithm == ReduceAlgorithm::Ring) return ring_diagram(ranks, names);
  const auto reduce = reduce_levels(ranks, algorithm, root);
  const auto bcast = broadcast_levels(ranks, algorithm, root);
  std::ostringstream out;
  out << "reduce into " << label(root, names) << " (" << name << "), "
      << levels_count(reduce.size()) << "; \"a <- b\": a adds b's buffer\n"
      << draw_levels(reduce, " <- ", names);
  out << "broadcast from " << label(root, names) << " (" << name << "), "
      << levels_count(bcast.size()) << "; \"a -> b\": a's buffer copied into b\n"
      << draw_levels(bcast, " -> ", names);
  out << draw_tree(ranks, root, reduce, bcast, names);
  return out.str();
}

}  // namespace cudp
