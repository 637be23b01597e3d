// read_data_file and gunzip (see data_file.h), on zlib's inflate.
//
// inflateInit2 with 16 + MAX_WBITS accepts gzip only (its header, its CRC-32
// and length trailer are checked by zlib), so a zlib or raw deflate stream is
// refused as corrupt rather than guessed at. The output grows by doubling up
// to the cap, so a hostile file cannot make us allocate more than the cap; the
// trailer's ISIZE (length mod 2^32) is only a hint for the first allocation,
// capped by deflate's largest ratio (1032:1) since a truncated file's last 4
// bytes are not its trailer.
#include "data/data_file.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "runtime/error.h"

namespace cudp {
namespace {

// Ends the inflate stream however the function that owns it leaves.
struct InflateStream {
  z_stream z{};
  InflateStream(const std::string& where) {
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) fail(where, ": cannot start zlib's inflate");
  }
  ~InflateStream() { inflateEnd(&z); }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
};

}  // namespace

std::string DataFile::where(uint64_t offset) const {
  return concat("offset ", offset, gzipped ? " of the unpacked data" : "");
}

bool has_gzip_magic(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::string gunzip(const std::string& packed, const std::string& where,
                   uint64_t max_unpacked_bytes) {
  if (packed.size() > 0xFFFFFFFFu) fail(where, ": gzip file larger than 4 GiB");
  InflateStream stream(where);
  z_stream& z = stream.z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  z.avail_in = static_cast<uInt>(packed.size());

  uint64_t hint = 1 << 16;
  if (packed.size() >= 4) {
    const auto* tail = reinterpret_cast<const unsigned char*>(packed.data() + packed.size() - 4);
    hint =
        std::max<uint64_t>(hint, tail[0] | tail[1] << 8 | tail[2] << 16 | uint64_t{tail[3]} << 24);
  }
  hint = std::min<uint64_t>(hint, 1032 * uint64_t{packed.size()});  // deflate's largest ratio
  std::string out(static_cast<size_t>(std::min(hint, max_unpacked_bytes) + 1), '\0');
  uint64_t produced = 0;
  while (true) {
    if (produced == out.size()) {
      if (produced > max_unpacked_bytes)
        fail(where, ": unpacks to more than ", max_unpacked_bytes,
             " bytes: not a dataset file, or a corrupt one");
      out.resize(static_cast<size_t>(std::min<uint64_t>(2 * out.size(), max_unpacked_bytes + 1)));
    }
    const uint64_t room = std::min<uint64_t>(out.size() - produced, 1u << 30);
    z.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_NO_FLUSH);
    produced += room - z.avail_out;
    const uint64_t consumed = packed.size() - z.avail_in;
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      // Another gzip member may follow (gzip(1) concatenates them); anything else is junk.
      const std::string rest = packed.substr(static_cast<size_t>(consumed), 2);
      if (!has_gzip_magic(rest))
        fail(where, ": ", z.avail_in, " bytes after the end of the gzip stream (at offset ",
             consumed, "): expected another gzip member (1f 8b) or the end of the file");
      if (inflateReset(&z) != Z_OK) fail(where, ": cannot restart zlib's inflate");
      continue;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
      fail(where, ": corrupt gzip data near offset ", consumed,
           " of the file: ", z.msg ? z.msg : "invalid deflate stream");
    if (rc == Z_MEM_ERROR) fail(where, ": out of memory while unpacking");
    if (rc == Z_BUF_ERROR && z.avail_in == 0)
      fail(where, ": truncated gzip file: its ", packed.size(),
           " bytes end before the compressed stream does");
    if (rc != Z_OK && rc != Z_BUF_ERROR) fail(where, ": zlib's inflate failed with code ", rc);
    if (z.avail_in == 0 && z.avail_out != 0)
      fail(where, ": truncated gzip file: its ", packed.size(),
           " bytes end before the compressed stream does");
  }
  if (produced > max_unpacked_bytes)
    fail(where, ": unpacks to more than ", max_unpacked_bytes,
         " bytes: not a dataset file, or a corrupt one");
  out.resize(static_cast<size_t>(produced));
  return out;
}

DataFile read_data_file(const std::string& path, uint64_t max_unpacked_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, ": is a folder, not a data file");
  if (!std::filesystem::exists(path, ec)) fail(path, ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open for reading: ", std::strerror(errno));
  DataFile file;
  file.path = path;
  file.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, ": read error");
  if (has_gzip_magic(file.bytes)) {
    file.bytes = gunzip(file.bytes, path, max_unpacked_bytes);
    file.gzipped = true;
  }
  return file;
}

}  // namespace cudp
