// The seed article's listing, line by line, in cudp's C++ API.
//
// The article wraps its Net in nn.DataParallel and runs one training step on a
// random batch. cudp's `seed-pool` is that Net with the 2x2 max-pools its
// view(-1, 64*8*8) needs on 3x32x32 inputs (the literal `seed` model is refused
// on that input; see model/models.h). nn.DataParallel is parallel/'s
// DataParallelTrainer over every GPU, or two CPU devices without one (`auto`):
// it scatters the batch, broadcasts the parameters, gathers the outputs, sums
// the gradients with a tree and steps on the first device, as PyTorch does
// (docs/data-parallel.md walks the step). Each Python line is quoted above the
// C++ that does it.
#include <cmath>
#include <cstdio>
#include <vector>

#include "kernels/sgd.h"
#include "model/models.h"
#include "parallel/device_group.h"
#include "parallel/parallel_trainer.h"
#include "runtime/device_spec.h"
#include "runtime/error.h"
#include "runtime/rng.h"

int main() {
  using namespace cudp;
  try {
    // device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    // (nn.DataParallel's device_ids default to every GPU; without one, two CPU devices)
    const std::vector<Device> devices = parse_device_spec("auto");
    DeviceGroup group(devices, /*seed=*/0);

    // model = nn.DataParallel(Net());  model.to(device)
    // criterion = nn.CrossEntropyLoss()
    // optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    SgdOptions sgd;
    sgd.lr = 0.001f;
    sgd.momentum = 0.9f;
    const NetFactory net = [](Device device, uint64_t seed) {
      auto built = build_model("seed-pool", {3, 32, 32}, device);
      built->init(seed);
      return built;
    };
    ParallelOptions data_parallel;  // dp, tree reduction, outputs on the first device
    auto model = make_parallel_trainer(group, net, sgd, data_parallel, CrossEntropyOptions{});

    // inputs = torch.randn(32, 3, 32, 32).to(device)
    // labels = torch.randint(0, 10, (32,)).to(device)
    Rng rng(42);
    std::vector<float> inputs(32 * 3 * 32 * 32);
    for (float& v : inputs) v = static_cast<float>(rng.normal());
    std::vector<int32_t> labels(32);
    for (int32_t& l : labels) l = static_cast<int32_t>(rng.below(10));

    // outputs = model(inputs); loss = criterion(outputs, labels)
    // optimizer.zero_grad(); loss.backward(); optimizer.step()
    const StepStats step = model->step(inputs.data(), labels.data(), 32);

    std::printf(
        "devices %s (DataParallel), %lld parameters, loss %.4f (ln 10 = %.4f for a fresh "
        "net)\n",
        device_list_str(devices).c_str(), static_cast<long long>(model->net().param_count()),
        step.loss, std::log(10.0));
    // A fresh net's loss on random labels sits near ln(10); anything far off is a bug.
    return std::fabs(step.loss - std::log(10.0)) < 0.5 ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "seed_example: error: %s\n", e.what());
    return 1;
  }
}
