// check_outputs (output_paths.h): stat, then a probe file in the folder.
#include "apps/output_paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/error.h"

namespace cudp {
namespace {

std::string folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool is_folder(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The folder exists, is one, and a new file can be created in it.
void check_folder(const OutputPath& o, const std::string& file) {
  const std::string folder = folder_of(file);
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0)
    fail(o.flag, " ", o.path, ": the folder ", folder, " ",
         errno == ENOENT ? std::string("does not exist") : std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) fail(o.flag, " ", o.path, ": ", folder, " is not a folder");
  const std::string probe = concat(folder, "/.cudp-probe.", ::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    fail(o.flag, " ", o.path, ": cannot create files in ", folder, ": ", std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

void check_output(const OutputPath& o) {
  if (o.path.empty()) return;
  if (o.path.back() == '/' || is_folder(o.path))
    fail(o.flag, " ", o.path, ": is a folder; expected the path of a file in it");
  for (const std::string& file : o.companions)
    if (is_folder(file)) fail(o.flag, " ", o.path, ": it also writes ", file, ", which is a folder");
  if (o.write == OutputWrite::Append && ::access(o.path.c_str(), F_OK) == 0) {
    const int fd = ::open(o.path.c_str(), O_WRONLY | O_APPEND);
    if (fd < 0) fail(o.flag, " ", o.path, ": cannot open for appending: ", std::strerror(errno));
    ::close(fd);
    return;
  }
  check_folder(o, o.path);
}

}  // namespace

void check_outputs(const std::vector<OutputPath>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    check_output(outputs[i]);
    for (std::size_t j = 0; j < i; ++j)
      if (!outputs[i].path.empty() && outputs[i].path == outputs[j].path)
        fail(outputs[i].flag, " ", outputs[i].path, ": ", outputs[j].flag,
             " writes this file too; give them different paths");
  }
}

}  // namespace cudp
