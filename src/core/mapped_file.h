// A read-only memory map of a whole file (RAII). Model files are mapped, never read into
// memory, so opening a multi-GB model costs nothing until its pages are touched.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "tern/status.h"

namespace tern {

class MappedFile {
public:
    // Errors: the path does not exist, is not a regular file, or cannot be mapped.
    static Result<MappedFile> open(const std::string& path);

    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    // Valid as long as this object lives (moves keep the mapping at the same address).
    std::span<const std::byte> bytes() const { return {data_, size_}; }
    const std::string& path() const { return path_; }
    // Drops the resident pages wholly inside `range` (a part of bytes()) from this process;
    // they are read from the file again if touched. For data that was copied elsewhere.
    void drop_pages(std::span<const std::byte> range) const;

private:
    MappedFile(std::string path, const std::byte* data, size_t size)
        : path_(std::move(path)), data_(data), size_(size) {}
    void release();

    std::string path_;
    const std::byte* data_ = nullptr;
    size_t size_ = 0;
};

// Reads a whole (small) text file such as config.json. Errors name the path and errno text.
Result<std::string> read_text_file(const std::string& path, size_t max_bytes);

}  // namespace tern
