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
