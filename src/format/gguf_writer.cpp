#include "format/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/check.h"
#include "core/checked_math.h"
#include "core/str_cat.h"
#include "format/gguf_reader.h"

namespace tern::format {
namespace {

class BufferSink {
public:
    explicit BufferSink(std::vector<std::byte>& out) : out_(out) {}
    void write(const void* data, size_t n) {
        if (n == 0) return;
        const size_t old_size = out_.size();
        out_.resize(old_size + n);
        std::memcpy(out_.data() + old_size, data, n);
    }
    void write_generated(size_t n, const GgufWriter::TensorFiller& fill) {
        const size_t old_size = out_.size();
        out_.resize(old_size + n);
        fill(std::span(out_.data() + old_size, n));
    }
    uint64_t written() const { return out_.size(); }

private:
    std::vector<std::byte>& out_;
};

// Counts what would be written, without producing generated tensors.
class CountingSink {
public:
    void write(const void*, size_t n) { written_ += n; }
    void write_generated(size_t n, const GgufWriter::TensorFiller&) { written_ += n; }
    uint64_t written() const { return written_; }

private:
    uint64_t written_ = 0;
};

class FileSink {
public:
    explicit FileSink(std::FILE* file) : file_(file) {}
    void write(const void* data, size_t n) {
        if (n != 0 && std::fwrite(data, 1, n, file_) != n) failed_ = true;
        written_ += n;
    }
    void write_generated(size_t n, const GgufWriter::TensorFiller& fill) {
        std::vector<std::byte> scratch(n);
        fill(scratch);
        write(scratch.data(), n);
    }
    uint64_t written() const { return written_; }
    bool failed() const { return failed_; }

private:
    std::FILE* file_;
    uint64_t written_ = 0;
    bool failed_ = false;
};

template <class Sink, class T>
void put(Sink& sink, const T& value) {
    sink.write(&value, sizeof value);
}

template <class Sink>
void put_string(Sink& sink, const std::string& text) {
    put(sink, static_cast<uint64_t>(text.size()));
    sink.write(text.data(), text.size());
}

template <class Sink>
void pad_to(Sink& sink, uint64_t alignment) {
    static constexpr std::byte kZeros[64] = {};
    while (sink.written() % alignment != 0) {
        const uint64_t gap = alignment - sink.written() % alignment;
        sink.write(kZeros, gap < sizeof kZeros ? gap : sizeof kZeros);
    }
}

template <class Sink>
void put_value(Sink& sink, const GgufValue& value) {
    put(sink, static_cast<uint32_t>(value.type()));
    if (value.is_array()) {
        put(sink, static_cast<uint32_t>(value.elem_type()));
        put(sink, value.size());
    }
    if (value.elem_type() == GgufType::kString) {
        for (uint64_t i = 0; i < value.size(); ++i) put_string(sink, value.string_element(i));
    } else {
        sink.write(value.raw_bytes().data(), value.raw_bytes().size());
    }
}

}  // namespace

Status GgufWriter::add_metadata(std::string key, GgufValue value) {
    if (key.empty() || key.size() > kGgufMaxKeyBytes) return Error(str_cat("metadata key length ", key.size(), " is outside 1..", kGgufMaxKeyBytes));
    for (const auto& [existing, unused] : metadata_) {
        if (existing == key) return Error(str_cat("duplicate metadata key ", quote(key)));
    }
    if (key == "general.alignment") {
        if (value.type() != GgufType::kUint32 || !is_power_of_two(value.element<uint32_t>(0)) ||
            value.element<uint32_t>(0) > kGgufMaxAlignment) {
            return Error("general.alignment must be a uint32 power of two no larger than 1 MiB");
        }
        if (!tensors_.empty()) return Error("general.alignment must be set before any tensor is added");
        alignment_ = value.element<uint32_t>(0);
    }
    metadata_.emplace_back(std::move(key), std::move(value));
    return {};
}

Status GgufWriter::add_pending(std::string name, GgmlType type, std::span<const uint64_t> dims, uint64_t n_bytes,
                               std::span<const std::byte> data, TensorFiller fill) {
    const std::string context = str_cat("tensor ", quote(name));
    if (name.empty() || name.size() > kGgufMaxTensorNameBytes) {
        return Error(str_cat(context, ": name length ", name.size(), " is outside 1..", kGgufMaxTensorNameBytes));
    }
    for (const PendingTensor& t : tensors_) {
        if (t.name == name) return Error(str_cat("duplicate tensor name ", quote(name)));
    }
    if (dims.empty() || dims.size() > kGgufMaxDims) return Error(str_cat(context, ": ", dims.size(), " dimensions, expected 1..4"));
    std::array<uint64_t, 4> ne{1, 1, 1, 1};
    for (size_t d = 0; d < dims.size(); ++d) {
        if (dims[d] == 0) return Error(str_cat(context, ": dimension ", d, " is 0"));
        ne[d] = dims[d];
    }
    const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
    if (!traits) return Error(str_cat(context, ": unknown ggml type ", static_cast<uint32_t>(type)));
    auto expected = ggml_tensor_bytes(*traits, ne);
    if (!expected.ok()) return expected.error().within(context);
    if (expected.value() != n_bytes) {
        return Error(str_cat(context, ": ", traits->name, " data is ", n_bytes, " bytes, expected ", expected.value()));
    }
    const auto padded = checked_align_up(n_bytes, alignment_);
    const auto next = padded ? checked_add(data_bytes_, *padded) : std::nullopt;
    if (!next) return Error(str_cat(context, ": data section size overflows"));
    tensors_.push_back({.name = std::move(name), .type = type, .n_dims = static_cast<uint32_t>(dims.size()), .ne = ne,
                        .offset = data_bytes_, .data = data, .n_bytes = n_bytes, .fill = std::move(fill)});
    data_bytes_ = *next;
    return {};
}

Status GgufWriter::add_tensor(std::string name, GgmlType type, std::span<const uint64_t> dims,
                              std::span<const std::byte> data) {
    return add_pending(std::move(name), type, dims, data.size(), data, {});
}

Status GgufWriter::add_tensor(std::string name, GgmlType type, std::span<const uint64_t> dims, uint64_t n_bytes,
                              TensorFiller fill) {
    TERN_CHECK(fill != nullptr);
    return add_pending(std::move(name), type, dims, n_bytes, {}, std::move(fill));
}

Status GgufWriter::add_tensor(std::string name, GgmlType type, std::span<const uint64_t> dims,
                              std::vector<std::byte> data) {
    auto owned = std::make_unique<std::vector<std::byte>>(std::move(data));
    TERN_TRY(add_tensor(std::move(name), type, dims, std::span<const std::byte>(*owned)));
    owned_.push_back(std::move(owned));
    return {};
}

template <class Sink>
void GgufWriter::write_all(Sink& sink) const {
    sink.write("GGUF", 4);
    put(sink, uint32_t{3});
    put(sink, static_cast<uint64_t>(tensors_.size()));
    put(sink, static_cast<uint64_t>(metadata_.size()));
    for (const auto& [key, value] : metadata_) {
        put_string(sink, key);
        put_value(sink, value);
    }
    for (const PendingTensor& t : tensors_) {
        put_string(sink, t.name);
        put(sink, t.n_dims);
        for (uint32_t d = 0; d < t.n_dims; ++d) put(sink, t.ne[d]);
        put(sink, static_cast<uint32_t>(t.type));
        put(sink, t.offset);
    }
    pad_to(sink, alignment_);
    for (const PendingTensor& t : tensors_) {
        if (t.fill) sink.write_generated(t.n_bytes, t.fill);
        else sink.write(t.data.data(), t.data.size());
        pad_to(sink, alignment_);
    }
}

std::vector<std::byte> GgufWriter::write_to_buffer() const {
    CountingSink counter;
    write_all(counter);
    std::vector<std::byte> out;
    out.reserve(counter.written());   // no reallocation: it would hold the model twice
    BufferSink sink(out);
    write_all(sink);
    return out;
}

Status GgufWriter::write_to_file(const std::string& path) const {
    const std::string temp_path = path + ".tmp";
    std::FILE* file = std::fopen(temp_path.c_str(), "wb");
    if (file == nullptr) return Error(str_cat(temp_path, ": cannot create: ", std::strerror(errno)));
    FileSink sink(file);
    write_all(sink);
    const bool closed = std::fclose(file) == 0;
    if (sink.failed() || !closed) {
        std::remove(temp_path.c_str());
        return Error(str_cat(temp_path, ": write failed: ", std::strerror(errno)));
    }
    if (std::rename(temp_path.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        std::remove(temp_path.c_str());
        return Error(str_cat(path, ": cannot rename from ", temp_path, ": ", std::strerror(saved)));
    }
    return {};
}

}  // namespace tern::format
