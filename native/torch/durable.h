// Files that are either complete and on disk, or absent: what a checkpoint needs to survive a full disk or a crash.
#pragma once
#include <string>

namespace wmss {

/**
 * Moves a finished temporary file over `path` durably: fsync(tmp), rename, fsync(the directory). Throws
 * wmss::Error (naming the file and the OS reason) when any step fails; tmp is removed then.
 */
void commit_file(const std::string &tmp, const std::string &path);

/** Writes `text` to path through path + ".tmp" and commit_file; a short write (e.g. a full disk) throws. */
void write_text_durably(const std::string &path, const std::string &text);

/**
 * A file written by a producer that must never see a failed write (libtorch's archive writer throws from its
 * destructor on a short write, which terminates the process): write() takes every byte it is given, remembers the
 * first failure (a full disk, a file size limit) and drops what follows; commit() then throws naming the file and
 * the OS reason, or moves the finished file over `path` durably (commit_file). A file not committed is removed.
 */
class SinkFile {
  public:
    explicit SinkFile(const std::string &path);
    ~SinkFile();
    SinkFile(const SinkFile &) = delete;
    SinkFile &operator=(const SinkFile &) = delete;
    /** Always returns n (the bytes are written, or the first error is kept for commit). */
    size_t write(const void *data, size_t n) noexcept;
    void commit();

  private:
    std::string path_, tmp_;
    int fd_ = -1, error_ = 0;
};

}  // namespace wmss
