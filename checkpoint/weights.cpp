// save_weights / load_weights (see weights.h): a net's flat parameter buffer
// as named safetensors tensors.
//
// Loading checks the whole file against the net (every name present, none
// extra, every shape equal) before it copies anything, so a refused file leaves
// the net as it was. A `module.` prefix (nn.DataParallel's state_dict) is
// stripped from every name that has it.
#include "checkpoint/weights.h"

#include <algorithm>
#include <set>

#include "io/safetensors.h"
#include "runtime/error.h"

namespace cudp {

void save_weights(const Sequential& net, const std::string& path,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<float> host(static_cast<std::size_t>(net.param_count()));
  const Context ctx{net.device()};
  copy_bytes(ctx, host.data(), cpu_device(), net.params(), net.device(),
             host.size() * sizeof(float));
  synchronize(ctx);
  std::vector<NamedTensor> tensors;
  for (const NamedParam& p : net.named_params()) {
    const auto begin = host.begin() + p.offset;
    tensors.push_back({p.name, p.shape, std::vector<float>(begin, begin + p.numel())});
  }
  write_safetensors(path, tensors, metadata);
}

void load_weights(Sequential& net, const std::string& path) {
  SafetensorsFile file = read_safetensors(path);
  const std::string prefix = "module.";
  std::map<std::string, const NamedTensor*> by_name;
  for (const NamedTensor& t : file.tensors) {
    const bool prefixed = t.name.compare(0, prefix.size(), prefix) == 0;
    const std::string name = prefixed ? t.name.substr(prefix.size()) : t.name;
    if (!by_name.emplace(name, &t).second)
      fail(path, ": tensor '", name, "' appears twice (with and without the 'module.' prefix)");
  }
  std::set<std::string> expected;
  for (const NamedParam& p : net.named_params()) {
    expected.insert(p.name);
    const auto it = by_name.find(p.name);
    if (it == by_name.end())
      fail(path, ": missing tensor '", p.name, "' (expected ", shape_str(p.shape), ") for model ",
           net.name());
    if (it->second->shape != p.shape)
      fail(p.name, ": expected ", shape_str(p.shape), ", found ", shape_str(it->second->shape),
           " in ", path);
  }
  for (const auto& [name, tensor] : by_name)
    if (!expected.count(name))
      fail(path, ": unexpected tensor '", tensor->name, "' (", shape_str(tensor->shape),
           "): model ", net.name(), " has no parameter of that name");

  std::vector<float> host(static_cast<std::size_t>(net.param_count()));
  for (const NamedParam& p : net.named_params()) {
    const auto& values = by_name.at(p.name)->values;
    std::copy(values.begin(), values.end(), host.begin() + p.offset);
  }
  const Context ctx{net.device()};
  copy_bytes(ctx, net.params(), net.device(), host.data(), cpu_device(),
             host.size() * sizeof(float));
  synchronize(ctx);
}

}  // namespace cudp
