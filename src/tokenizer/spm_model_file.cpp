#include "tokenizer/spm_model_file.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/mapped_file.h"
#include "core/str_cat.h"
#include "tokenizer/tokenizer_config.h"

namespace tern::tokenizer {
namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

// Reads one protobuf message's fields; every read is bounds-checked and reports its offset.
class WireReader {
public:
    WireReader(std::span<const std::byte> bytes, size_t base) : bytes_(bytes), base_(base) {}

    bool done() const { return pos_ >= bytes_.size(); }

    Result<uint64_t> varint() {
        uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos_ >= bytes_.size()) return Error(str_cat("varint runs past the end at byte ", base_ + pos_));
            const auto b = static_cast<uint8_t>(bytes_[pos_++]);
            value |= static_cast<uint64_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return value;
        }
        return Error(str_cat("varint longer than 10 bytes at byte ", base_ + pos_));
    }

    // Field number and wire type of the next field.
    Result<std::pair<uint32_t, uint32_t>> tag() {
        TERN_ASSIGN_OR_RETURN(const uint64_t t, varint());
        return std::pair{static_cast<uint32_t>(t >> 3), static_cast<uint32_t>(t & 7)};
    }

    // A length-delimited field's bytes and the file offset they start at.
    Result<std::pair<std::span<const std::byte>, size_t>> bytes() {
        TERN_ASSIGN_OR_RETURN(const uint64_t n, varint());
        if (n > bytes_.size() - pos_)
            return Error(str_cat("field of ", n, " bytes at byte ", base_ + pos_, " runs past the end of its message"));
        const size_t at = pos_;
        pos_ += n;
        return std::pair{bytes_.subspan(at, n), base_ + at};
    }

    Result<uint32_t> fixed32() {
        if (bytes_.size() - pos_ < 4) return Error(str_cat("fixed32 runs past the end at byte ", base_ + pos_));
        uint32_t v;
        std::memcpy(&v, bytes_.data() + pos_, 4);
        pos_ += 4;
        return v;
    }

    Status skip(uint32_t wire_type) {
        switch (wire_type) {
            case kVarint: {
                auto v = varint();
                if (!v.ok()) return v.error();
                return {};
            }
            case kFixed64:
                if (bytes_.size() - pos_ < 8) return Error(str_cat("fixed64 runs past the end at byte ", base_ + pos_));
                pos_ += 8;
                return {};
            case kLengthDelimited: {
                auto b = bytes();
                if (!b.ok()) return b.error();
                return {};
            }
            case kFixed32: {
                auto v = fixed32();
                if (!v.ok()) return v.error();
                return {};
            }
            default: return Error(str_cat("unsupported protobuf wire type ", wire_type, " at byte ", base_ + pos_));
        }
    }

private:
    std::span<const std::byte> bytes_;
    size_t base_;
    size_t pos_ = 0;
};

// message SentencePiece { string piece = 1; float score = 2; Type type = 3; }
Status read_piece(std::span<const std::byte> bytes, size_t base, Vocabulary& vocab) {
    WireReader r(bytes, base);
    std::string piece;
    float score = 0.0f;
    int32_t type = static_cast<int32_t>(TokenType::kNormal);
    while (!r.done()) {
        TERN_ASSIGN_OR_RETURN(const auto field, r.tag());
        if (field.first == 1 && field.second == kLengthDelimited) {
            TERN_ASSIGN_OR_RETURN(const auto b, r.bytes());
            piece.assign(reinterpret_cast<const char*>(b.first.data()), b.first.size());
        } else if (field.first == 2 && field.second == kFixed32) {
            TERN_ASSIGN_OR_RETURN(const uint32_t bits, r.fixed32());
            std::memcpy(&score, &bits, 4);
        } else if (field.first == 3 && field.second == kVarint) {
            TERN_ASSIGN_OR_RETURN(const uint64_t t, r.varint());
            if (t < 1 || t > 6) return Error(str_cat("piece ", vocab.tokens.size(), " has type ", t, ", expected 1..6"));
            type = static_cast<int32_t>(t);
        } else {
            TERN_TRY(r.skip(field.second));
        }
    }
    vocab.tokens.push_back(std::move(piece));
    vocab.scores.push_back(score);
    vocab.types.push_back(static_cast<TokenType>(type));
    return {};
}

struct SpecialIds {
    int64_t unk = 0, bos = 1, eos = 2;   // TrainerSpec defaults
};

// message TrainerSpec { ...; int32 unk_id = 40; int32 bos_id = 41; int32 eos_id = 42; }
// (ids are int32: -1 is a 10-byte varint, read here as its two's complement)
Status read_trainer_spec(std::span<const std::byte> bytes, size_t base, SpecialIds& ids) {
    WireReader r(bytes, base);
    while (!r.done()) {
        TERN_ASSIGN_OR_RETURN(const auto field, r.tag());
        if (field.second == kVarint && field.first >= 40 && field.first <= 42) {
            TERN_ASSIGN_OR_RETURN(const uint64_t v, r.varint());
            const auto id = static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v)));
            (field.first == 40 ? ids.unk : field.first == 41 ? ids.bos : ids.eos) = id;
        } else {
            TERN_TRY(r.skip(field.second));
        }
    }
    return {};
}

// message NormalizerSpec { ...; bool add_dummy_prefix = 3; }
Result<bool> read_add_dummy_prefix(std::span<const std::byte> bytes, size_t base) {
    WireReader r(bytes, base);
    bool add = true;   // the proto's default
    while (!r.done()) {
        TERN_ASSIGN_OR_RETURN(const auto field, r.tag());
        if (field.first == 3 && field.second == kVarint) {
            TERN_ASSIGN_OR_RETURN(const uint64_t v, r.varint());
            add = v != 0;
        } else {
            TERN_TRY(r.skip(field.second));
        }
    }
    return add;
}

int32_t checked_id(int64_t id, size_t n) { return id >= 0 && static_cast<size_t>(id) < n ? static_cast<int32_t>(id) : -1; }

}  // namespace

// message ModelProto { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                      NormalizerSpec normalizer_spec = 3; ... }
Result<Vocabulary> vocabulary_from_spm_model(std::span<const std::byte> bytes) {
    Vocabulary vocab;
    vocab.kind = VocabKind::kSpm;
    vocab.add_space_prefix = true;
    SpecialIds ids;
    WireReader r(bytes, 0);
    while (!r.done()) {
        TERN_ASSIGN_OR_RETURN(const auto field, r.tag());
        if (field.second != kLengthDelimited || field.first > 3) {
            TERN_TRY(r.skip(field.second));
            continue;
        }
        TERN_ASSIGN_OR_RETURN(const auto sub, r.bytes());
        if (field.first == 1) TERN_TRY(read_piece(sub.first, sub.second, vocab));
        else if (field.first == 2) TERN_TRY(read_trainer_spec(sub.first, sub.second, ids));
        else {
            TERN_ASSIGN_OR_RETURN(vocab.add_space_prefix, read_add_dummy_prefix(sub.first, sub.second));
        }
    }
    if (vocab.tokens.empty()) return Error("SentencePiece model has no pieces");
    const size_t n = vocab.tokens.size();
    vocab.unk = checked_id(ids.unk, n);
    vocab.bos = checked_id(ids.bos, n);
    vocab.eos = checked_id(ids.eos, n);
    vocab.add_bos = vocab.bos >= 0;
    index_vocabulary(vocab);
    return vocab;
}

Result<Vocabulary> vocabulary_from_spm_file(const std::string& path) {
    TERN_ASSIGN_OR_RETURN(const std::string model, read_text_file(path, size_t{64} << 20));
    Result<Vocabulary> vocab = vocabulary_from_spm_model(std::as_bytes(std::span(model.data(), model.size())));
    if (!vocab.ok()) return vocab.error().within(path);
    TERN_ASSIGN_OR_RETURN(const std::string config, sibling_tokenizer_config(path));
    if (!config.empty()) {
        if (Status s = apply_tokenizer_config(config, vocab.value()); !s.ok()) return s.error().within(path);
        index_vocabulary(vocab.value());   // end-of-generation set with the final eos
    }
    TERN_TRY(apply_chat_template_file(std::filesystem::path(path).parent_path().string(), vocab.value()));
    return vocab;
}

Result<Vocabulary> vocabulary_from_spm_folder(const std::string& dir) {
    return vocabulary_from_spm_file((std::filesystem::path(dir) / "tokenizer.model").string());
}

}  // namespace tern::tokenizer
