#include "model/model.h"

#include <cstring>

#include "core/check.h"
#include "core/str_cat.h"
#include "quant/block_formats.h"
#include "quant/dequantize.h"

namespace tern::model {

std::vector<float>* LayerWeights::norm(TensorRole role) {
    switch (role) {
        case TensorRole::kAttnNorm: return &attn_norm;
        case TensorRole::kAttnSubNorm: return &attn_sub_norm;
        case TensorRole::kFfnNorm: return &ffn_norm;
        case TensorRole::kFfnSubNorm: return &ffn_sub_norm;
        case TensorRole::kRecurrentInputInNorm: return &recurrent.input_in_norm;
        case TensorRole::kRecurrentForgetInNorm: return &recurrent.forget_in_norm;
        case TensorRole::kRecurrentGateInNorm: return &recurrent.gate_in_norm;
        case TensorRole::kRecurrentOutputInNorm: return &recurrent.output_in_norm;
        case TensorRole::kRecurrentGateNorm: return &recurrent.gate_norm;
        case TensorRole::kFfnGateUpInNorm: return &recurrent.gate_up_in_norm;
        case TensorRole::kFfnDownInNorm: return &recurrent.down_in_norm;
        default: return nullptr;
    }
}

quant::PackedTernary* LayerWeights::projection(TensorRole role) {
    switch (role) {
        case TensorRole::kAttnQ: return &q;
        case TensorRole::kAttnK: return &k;
        case TensorRole::kAttnV: return &v;
        case TensorRole::kAttnOutput: return &o;
        case TensorRole::kFfnGate: return &gate;
        case TensorRole::kFfnUp: return &up;
        case TensorRole::kFfnDown: return &down;
        case TensorRole::kRecurrentInput: return &recurrent.input;
        case TensorRole::kRecurrentForget: return &recurrent.forget;
        case TensorRole::kRecurrentGate: return &recurrent.gate;
        case TensorRole::kRecurrentOutput: return &recurrent.output;
        case TensorRole::kFfnGateUp: return &recurrent.gate_up;
        default: return nullptr;
    }
}

quant::PackedComplex* LayerWeights::complex_projection(TensorRole role) {
    switch (role) {
        case TensorRole::kAttnQ: return &complex.q;
        case TensorRole::kAttnK: return &complex.k;
        case TensorRole::kAttnV: return &complex.v;
        case TensorRole::kAttnOutput: return &complex.o;
        case TensorRole::kFfnGate: return &complex.gate;
        case TensorRole::kFfnUp: return &complex.up;
        case TensorRole::kFfnDown: return &complex.down;
        default: return nullptr;
    }
}

quant::PackedWidelyLinear* LayerWeights::widely_linear_projection(TensorRole role) {
    WidelyLinearProjections& p = widely_linear;
    switch (role) {
        case TensorRole::kAttnQ: return &p.q;
        case TensorRole::kAttnK: return &p.k;
        case TensorRole::kAttnV: return &p.v;
        case TensorRole::kAttnOutput: return &p.o;
        case TensorRole::kFfnGate: return &p.gate;
        case TensorRole::kFfnUp: return &p.up;
        case TensorRole::kFfnDown: return &p.down;
        default: return nullptr;
    }
}

size_t Model::head_weight_bytes() const {
    return widely_linear() ? output_widely_linear.weight_bytes()
           : recurrent()   ? output_ternary.weight_bytes()
           : q8_head()     ? output_q8.bytes()
           : q4_head()     ? output_q4.bytes()
           : q6_k_head()   ? output_q6_k.bytes()
                           : output.bytes();
}

bool Model::head_becomes_q4_0(HeadConversion conversion) const { return !family_head() && conversion == HeadConversion::kQ4_0; }

// A Q6_K head in the file stays one (its kernel reads it as stored) unless Q8_0 or Q4_0 is asked for.
bool Model::head_becomes_q6_k(HeadConversion conversion) const {
    if (family_head()) return false;
    return conversion == HeadConversion::kQ6_K ||
           (output.type == format::GgmlType::kQ6_K && conversion != HeadConversion::kQ8_0 && conversion != HeadConversion::kQ4_0);
}

bool Model::head_becomes_q8_0(HeadConversion conversion) const {
    if (family_head() || head_becomes_q4_0(conversion) || head_becomes_q6_k(conversion)) return false;
    if (output.type == format::GgmlType::kQ8_0 || conversion == HeadConversion::kQ8_0) return true;
    const bool float_head = output.type == format::GgmlType::kF32 || output.type == format::GgmlType::kF16 ||
                            output.type == format::GgmlType::kBF16;
    // The whole head's size, so that every rank of a split decides alike.
    // Q8_0 blocks are 32 wide: a head whose rows do not divide stays as it is.
    return conversion == HeadConversion::kAuto && float_head && output.cols % 32 == 0 &&
           output.bytes() >= kAutoQ8HeadMinBytes;
}

size_t Model::decode_weight_bytes() const { return head_weight_bytes() + projection_weight_bytes(); }

size_t Model::projection_weight_bytes() const {
    size_t bytes = 0;
    for (const LayerWeights& w : layers) {
        const RecurrentWeights& r = w.recurrent;
        for (const quant::PackedTernary* m : {&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down, &r.input, &r.forget,
                                              &r.gate, &r.output, &r.gate_up})
            bytes += m->weight_bytes();
        const ComplexProjections& c = w.complex;
        for (const quant::PackedComplex* m : {&c.q, &c.k, &c.v, &c.o, &c.gate, &c.up, &c.down})
            bytes += m->weight_bytes();
        const WidelyLinearProjections& p = w.widely_linear;
        for (const quant::PackedWidelyLinear* m : {&p.q, &p.k, &p.v, &p.o, &p.gate, &p.up, &p.down})
            bytes += m->weight_bytes();
    }
    return bytes;
}

QuantizedHead head_conversion_target(const Model& model, HeadConversion conversion) {
    if (model.head_becomes_q4_0(conversion)) return QuantizedHead::kQ4_0;
    if (model.head_becomes_q6_k(conversion)) return QuantizedHead::kQ6_K;
    if (model.head_becomes_q8_0(conversion)) return QuantizedHead::kQ8_0;
    return QuantizedHead::kNone;
}

Status check_head_conversion(bool recurrent, HeadConversion conversion, std::string_view source) {
    if (!recurrent || conversion == HeadConversion::kKeep || conversion == HeadConversion::kAuto) return {};
    return Error(str_cat(source, ": --head ", head_conversion_name(conversion), ": an HGRN-Bit head is ternary"));
}

std::string_view head_conversion_name(HeadConversion conversion) {
    switch (conversion) {
        case HeadConversion::kKeep: return "keep";
        case HeadConversion::kQ8_0: return "q8_0";
        case HeadConversion::kQ4_0: return "q4_0";
        case HeadConversion::kQ6_K: return "q6_k";
        case HeadConversion::kAuto: break;
    }
    return "auto";
}

namespace {

struct HeadTarget {
    format::GgmlType type;
    const char* flag;
    size_t block_elems;
    bool paired_rows;   // the kernels read rows 2p and 2p + 1 together (quant/paired_head_rows.h)
    void (*quantize)(const float*, std::byte*, size_t);
};

HeadTarget head_target(QuantizedHead to) {
    switch (to) {
        case QuantizedHead::kQ4_0: return {format::GgmlType::kQ4_0, "--head q4_0", 32, true, quant::quantize_row_q4_0};
        case QuantizedHead::kQ6_K: return {format::GgmlType::kQ6_K, "--head q6_k", 256, false, quant::quantize_row_q6_k};
        default: return {format::GgmlType::kQ8_0, "--head q8_0", 32, true, quant::quantize_row_q8_0};
    }
}

}  // namespace

Status convert_head(Model& model, QuantizedHead to, int threads, std::optional<RowRange> rows) {
    TERN_CHECK(to != QuantizedHead::kNone);
    const HeadTarget target = head_target(to);
    const FloatMatrix& head = model.output;
    if (head.cols % target.block_elems != 0)
        return Error(str_cat(target.flag, ": rows of ", head.cols, " values are not a multiple of ", target.block_elems));
    const RowRange range = rows.value_or(RowRange{.begin = 0, .end = head.rows});
    if (range.begin > range.end || range.end > head.rows)
        return Error(str_cat(target.flag, ": rows ", range.begin, "..", range.end, " are not rows of a head of ", head.rows,
                             " rows"));
    if (target.paired_rows && range.begin % 2 != 0 && range.begin != range.end)
        return Error(str_cat(target.flag, ": rows ", range.begin, "..", range.end, " do not start a row pair"));
    model.quantized_head = to;
    model.quantized_head_first_row = range.begin;
    model.output_q8 = {};
    model.output_q4 = {};
    model.output_q6_k = {};
    if (range.begin == range.end) return {};   // a rank that computes none of the head
    const size_t n = range.end - range.begin;
    if (to == QuantizedHead::kQ6_K && head.type == format::GgmlType::kQ6_K) {
        // Already in the kernels' layout: read in place from the file's bytes, which the model keeps.
        TERN_ASSIGN_OR_RETURN(model.output_q6_k, quant::borrow_q6_k_rows(head.row(range.begin), n, head.cols));
        return {};
    }
    auto source = [&head, target, first = range.begin](size_t r, std::span<std::byte> blocks) -> Status {
        if (head.type == target.type) {
            std::memcpy(blocks.data(), head.row(first + r), blocks.size());
            return {};
        }
        std::vector<float> row(head.cols);
        TERN_TRY(quant::dequantize(head.type, {head.row(first + r), head.row_bytes}, row));
        target.quantize(row.data(), blocks.data(), head.cols);
        return {};
    };
    if (to == QuantizedHead::kQ4_0) {
        TERN_ASSIGN_OR_RETURN(model.output_q4, quant::pair_q4_0_rows(n, head.cols, source, threads));
    } else if (to == QuantizedHead::kQ6_K) {
        TERN_ASSIGN_OR_RETURN(model.output_q6_k, quant::gather_q6_k_rows(n, head.cols, source, threads));
    } else {
        TERN_ASSIGN_OR_RETURN(model.output_q8, quant::pair_q8_0_rows(n, head.cols, source, threads));
    }
    return {};
}

}  // namespace tern::model
