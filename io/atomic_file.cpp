// write_file_atomically (declared in safetensors.h): temp file + fsync + rename.
//
// The temp file is `<path>.tmp.<pid>`, in the same folder as PATH so that the
// rename stays within one file system and is atomic: a reader sees the old
// file or the new one, never half of one. On any failure the temp file is
// removed and PATH is untouched. The folder is fsynced after the rename
// (best effort) so the new name itself survives a crash.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "io/safetensors.h"
#include "runtime/error.h"

namespace cudp {
namespace {

void sync_parent_folder(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string temp = concat(path, ".tmp.", ::getpid());
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (!f) fail(path, ": cannot create the temporary file ", temp, ": ", std::strerror(errno));
  const char* step = nullptr;  // the first step that failed, and its errno
  int err = 0;
  if (std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    step = "write";
    err = errno;
  } else if (std::fflush(f) != 0) {
    step = "flush";
    err = errno;
  } else if (::fsync(::fileno(f)) != 0) {
    step = "fsync";
    err = errno;
  }
  if (std::fclose(f) != 0 && !step) {
    step = "close";
    err = errno;
  }
  if (step) {
    std::remove(temp.c_str());
    fail(path, ": cannot ", step, " the temporary file ", temp, ": ", std::strerror(err));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(temp.c_str());
    fail(path, ": cannot rename ", temp, " over it: ", std::strerror(err));
  }
  sync_parent_folder(path);
}

}  // namespace cudp
