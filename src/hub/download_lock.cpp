#include "hub/download_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/str_cat.h"

namespace tern::hub {

Result<DownloadLock> DownloadLock::acquire(const std::filesystem::path& path, const std::function<bool()>& keep_waiting) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) return Error(str_cat("cannot create ", path.parent_path().string(), ": ", ec.message()));
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Error(str_cat("cannot open the download lock ", path.string(), ": ", std::strerror(errno)));
    // Polled rather than a blocking flock so the wait can be reported and given up.
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            const int error = errno;
            ::close(fd);
            return Error(str_cat("cannot lock ", path.string(), ": ", std::strerror(error)));
        }
        if (keep_waiting && !keep_waiting()) {
            ::close(fd);
            return Error(str_cat("stopped while another process held ", path.string()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return DownloadLock(fd);
}

DownloadLock::~DownloadLock() {
    if (fd_ >= 0) ::close(fd_);   // closing the descriptor releases the flock
}

}  // namespace tern::hub
