#include "durable.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "error.h"

namespace fs = std::filesystem;

namespace {

void fsync_path(const std::string &path, int flags, const std::string &what) {
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) throw wmss::Error{WMSS_ERR_ARGUMENT, "cannot open " + path + " to sync " + what + ": " + std::strerror(errno)};
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw wmss::Error{WMSS_ERR_ARGUMENT, "cannot sync " + path + " to disk: " + std::strerror(err)};
}

}  // namespace

void wmss::commit_file(const std::string &tmp, const std::string &path) {
    try {
        fsync_path(tmp, O_RDONLY, "the file");
        std::error_code ec;
        fs::rename(tmp, path, ec);
        if (ec) throw Error{WMSS_ERR_ARGUMENT, "cannot rename " + tmp + " to " + path + ": " + ec.message()};
    } catch (...) {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw;
    }
    const fs::path dir = fs::path(path).parent_path();
    fsync_path(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY, "the directory");
}

void wmss::write_text_durably(const std::string &path, const std::string &text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error{WMSS_ERR_ARGUMENT, "cannot write " + tmp + ": " + std::strerror(errno)};
        out << text;
        out.close(); // the final flush happens here: check after it
        if (out.fail()) {
            const int err = errno;
            std::error_code ignored;
            fs::remove(tmp, ignored);
            throw Error{WMSS_ERR_ARGUMENT, "write to " + tmp + " failed: " + std::strerror(err)};
        }
    }
    commit_file(tmp, path);
}

wmss::SinkFile::SinkFile(const std::string &path) : path_(path), tmp_(path + ".tmp") {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error{WMSS_ERR_ARGUMENT, "cannot write " + tmp_ + ": " + std::strerror(errno)};
}

wmss::SinkFile::~SinkFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_.empty()) {
        std::error_code ignored;
        fs::remove(tmp_, ignored);
    }
}

size_t wmss::SinkFile::write(const void *data, size_t n) noexcept {
    const char *p = static_cast<const char *>(data);
    size_t left = n;
    while (error_ == 0 && left > 0) {
        const ssize_t w = ::write(fd_, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            error_ = w < 0 ? errno : ENOSPC;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    return n;
}

void wmss::SinkFile::commit() {
    const int fd = fd_;
    fd_ = -1;
    if (error_ == 0 && ::close(fd) != 0) error_ = errno;
    else if (error_ != 0) ::close(fd);
    if (error_ != 0) {
        throw Error{WMSS_ERR_ARGUMENT, "cannot write " + path_ + ": " + std::strerror(error_) +
                                           (error_ == ENOSPC || error_ == EDQUOT ? " (the disk is full: free space or "
                                                                                   "choose another --out)" : "")};
    }
    const std::string tmp = tmp_;
    tmp_.clear(); // commit_file removes it on failure
    commit_file(tmp, path_);
}
