// The two modes by name, and the trainer of each (see parallel_trainer.h).
#include "parallel/parallel_trainer.h"

#include "parallel/data_parallel.h"
#include "parallel/ddp.h"
#include "parallel/step_graph.h"
#include "runtime/error.h"

namespace cudp {

ParallelMode parse_parallel_mode(const std::string& text) {
  if (text == "dp") return ParallelMode::DataParallel;
  if (text == "ddp") return ParallelMode::Distributed;
  fail_parameter("parallel", "expected dp or ddp, found '", text, "'");
}

const char* parallel_mode_name(ParallelMode mode) {
  return mode == ParallelMode::DataParallel ? "dp" : "ddp";
}

std::unique_ptr<ParallelTrainer> make_parallel_trainer(DeviceGroup& group,
                                                       const NetFactory& factory, SgdOptions sgd,
                                                       ParallelOptions options,
                                                       CrossEntropyOptions loss) {
  if (options.mode == ParallelMode::DataParallel && group.spans_processes())
    fail_parameter("parallel", "dp is one process, as PyTorch's nn.DataParallel is; this run has ",
                   group.layout().processes(), " processes: use ddp (DistributedDataParallel)");
  if (options.cuda_graph) check_cuda_graph_group(group);
  if (options.plan.textbook)
    options.plan = textbook_options(options.plan, options.mode == ParallelMode::Distributed);
  if (options.mode == ParallelMode::DataParallel)
    return std::make_unique<DataParallelTrainer>(group, factory, sgd, options, loss);
  return std::make_unique<DistributedTrainer>(group, factory, sgd, options, loss);
}

}  // namespace cudp
