// An owning, zero-initialised array aligned to a cache line (64 bytes), for packed weights and
// kernel operands that SIMD code streams through. Move-only.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace tern {

template <class T>
    requires std::is_trivially_copyable_v<T>
class AlignedBuffer {
public:
    static constexpr size_t kAlignment = 64;

    AlignedBuffer() = default;
    explicit AlignedBuffer(size_t count) : AlignedBuffer(count, kLeaveUninitialized) {
        if (data_ != nullptr) std::memset(static_cast<void*>(data_), 0, padded_bytes(count));
    }
    // For large buffers written before they are read (the KV cache): pages are only touched,
    // and so only count in RSS, once used.
    struct LeaveUninitialized {};
    static constexpr LeaveUninitialized kLeaveUninitialized{};
    AlignedBuffer(size_t count, LeaveUninitialized) : size_(count) {
        if (count == 0) return;
        data_ = static_cast<T*>(std::aligned_alloc(kAlignment, padded_bytes(count)));
        if (data_ == nullptr) throw std::bad_alloc();
    }
    AlignedBuffer(AlignedBuffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
        if (this != &other) {
            std::free(data_);
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
    ~AlignedBuffer() { std::free(data_); }
    static size_t padded_bytes(size_t count) { return (count * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment; }

    T* data() { return data_; }
    const T* data() const { return data_; }
    size_t size() const { return size_; }
    size_t size_bytes() const { return size_ * sizeof(T); }
    T& operator[](size_t i) { return data_[i]; }
    const T& operator[](size_t i) const { return data_[i]; }
    std::span<T> span() { return {data_, size_}; }
    std::span<const T> span() const { return {data_, size_}; }

private:
    T* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace tern
