#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/str_cat.h"

namespace tern {
namespace {

struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

Result<int> open_regular_file(const std::string& path, size_t* size_out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error(str_cat(path, ": cannot open: ", std::strerror(errno)));
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        const int saved = errno;
        ::close(fd);
        return Error(str_cat(path, ": cannot stat: ", std::strerror(saved)));
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd);
        return Error(str_cat(path, ": not a regular file"));
    }
    *size_out = static_cast<size_t>(info.st_size);
    return fd;
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::string& path) {
    size_t size = 0;
    TERN_ASSIGN_OR_RETURN(const int fd, open_regular_file(path, &size));
    FdCloser closer{fd};
    if (size == 0) return MappedFile(path, nullptr, 0);
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) return Error(str_cat(path, ": cannot map: ", std::strerror(errno)));
    return MappedFile(path, static_cast<const std::byte*>(data), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        release();
        path_ = std::move(other.path_);
        data_ = other.data_;
        size_ = other.size_;
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
}

Result<std::string> read_text_file(const std::string& path, size_t max_bytes) {
    size_t size = 0;
    TERN_ASSIGN_OR_RETURN(const int fd, open_regular_file(path, &size));
    FdCloser closer{fd};
    if (size > max_bytes) {
        return Error(str_cat(path, ": file is ", size, " bytes, more than the ", max_bytes,
                             " allowed for this kind of file"));
    }
    std::string text(size, '\0');
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd, text.data() + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error(str_cat(path, ": read failed: ", std::strerror(errno)));
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    text.resize(done);
    return text;
}

void MappedFile::drop_pages(std::span<const std::byte> range) const {
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<uintptr_t>(range.data()) + page - 1) / page * page;
    const auto end = (reinterpret_cast<uintptr_t>(range.data()) + range.size()) / page * page;
    if (range.data() < data_ || range.data() + range.size() > data_ + size_ || end <= begin) return;
    // MADV_DONTNEED on a read-only private file mapping only forgets clean pages.
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace tern
