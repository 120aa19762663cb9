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

}  // namespace wmss
