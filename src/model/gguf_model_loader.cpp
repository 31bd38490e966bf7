#include "model/gguf_model_loader.h"

#include <cmath>
#include <optional>
#include <vector>

#include "core/str_cat.h"
#include "kernels/float_matmul.h"
#include "model/gguf_tensors.h"
#include "model/repack_jobs.h"
#include "quant/complex_repack.h"
#include "quant/dequantize.h"
#include "quant/ternary_repack.h"

namespace tern::model {
namespace {

using format::GgmlType;
using format::GgufContents;
using format::GgufTensorInfo;

bool is_float_type(GgmlType t) { return t == GgmlType::kF32 || t == GgmlType::kF16 || t == GgmlType::kBF16; }
bool is_ternary_type(GgmlType t) { return t == GgmlType::kTQ1_0 || t == GgmlType::kTQ2_0 || t == GgmlType::kI2_S; }

bool type_allowed(TensorKind kind, const format::GgmlTypeTraits& traits) {
    switch (kind) {
        case TensorKind::kTernary: return is_ternary_type(traits.type) || is_float_type(traits.type);
        case TensorKind::kFloatMatrix: return traits.decodable;
        case TensorKind::kNormVector: return is_float_type(traits.type);
        case TensorKind::kComplex:
        case TensorKind::kWidelyLinear: return traits.type == GgmlType::kTernC2;
    }
    return false;
}

std::string shape_text(const GgufTensorInfo& info) {
    std::string text = "[";
    for (uint32_t i = 0; i < info.n_dims; ++i) text += str_cat(i ? ", " : "", info.ne[i]);
    return text + "]";
}

// Complex float tensors (norms, embedding) hold [re | im] along ne0 in GGUF: twice the spec's width.
size_t gguf_ne0(const TensorSpec& spec, const Hparams& hp) {
    return hp.dim(spec.ne0) * (spec.hf_name_imag.empty() || spec.kind == TensorKind::kComplex ? 1 : 2);
}

std::string expected_shape_text(const TensorSpec& spec, const Hparams& hp) {
    const std::string ne0_name = gguf_ne0(spec, hp) == hp.dim(spec.ne0) ? std::string(dim_name(spec.ne0))
                                                                         : str_cat("2*", dim_name(spec.ne0));
    if (spec.ne1 == Dim::kNone) return str_cat("[", gguf_ne0(spec, hp), "] (", ne0_name, ")");
    return str_cat("[", gguf_ne0(spec, hp), ", ", hp.dim(spec.ne1), "] (", ne0_name, ", ", dim_name(spec.ne1), ")");
}

// Matrices (U1, W1, U2, W2) of a widely-linear tensor: from its ".scale" tensor, 2 values each.
size_t widely_linear_matrices(const GgufContents& gguf, const std::string& name) {
    const GgufTensorInfo* scale = gguf.find_tensor(scale_tensor_name(name));
    return scale == nullptr ? 0 : scale->n_elements / 2;
}

void check_widely_linear(const GgufContents& gguf, const TensorSpec& spec, const Hparams& hp, const GgufTensorInfo& info,
                         std::vector<std::string>& problems) {
    const GgufTensorInfo* scale = gguf.find_tensor(scale_tensor_name(info.name));
    const size_t matrices = widely_linear_matrices(gguf, info.name);
    if (scale == nullptr || scale->traits.type != GgmlType::kF32 || (matrices != 2 && matrices != 4)) {
        problems.push_back(str_cat("'", scale_tensor_name(info.name), "' should be 4 or 8 F32 values (s_re, s_im of U1, W1 (, U2, W2))"));
        return;
    }
    const size_t rows = hp.dim(spec.ne1), cols = hp.dim(spec.ne0);
    if (rows % 2 != 0 || cols % 2 != 0 || info.n_dims != 2 || info.ne[0] != cols / 2 || info.ne[1] != rows / 2 * matrices)
        problems.push_back(str_cat("'", info.name, "' has shape ", shape_text(info), ", expected [", cols / 2, ", ",
                                   rows / 2 * matrices, "] (", dim_name(spec.ne0), "/2, ", dim_name(spec.ne1), "/2*",
                                   matrices, ")"));
    if (!type_allowed(spec.kind, info.traits))
        problems.push_back(str_cat("'", info.name, "' has type ", info.traits.name, ", expected TERN_C2"));
}

void check_tensor(const GgufContents& gguf, const TensorSpec& spec, const Hparams& hp, const std::string& name,
                  std::vector<std::string>& problems) {
    const GgufTensorInfo* info = gguf.find_tensor(name);
    if (info == nullptr) {
        if (!spec.optional) problems.push_back(str_cat("missing '", name, "'"));
        return;
    }
    if (spec.kind == TensorKind::kWidelyLinear) {
        check_widely_linear(gguf, spec, hp, *info, problems);
        return;
    }
    const bool vector = spec.ne1 == Dim::kNone;
    const bool shape_ok = vector ? info->n_dims == 1 && info->ne[0] == gguf_ne0(spec, hp)
                                 : info->n_dims == 2 && info->ne[0] == gguf_ne0(spec, hp) &&
                                       info->ne[1] == hp.dim(spec.ne1);
    if (!shape_ok)
        problems.push_back(str_cat("'", name, "' has shape ", shape_text(*info), ", expected ",
                                   expected_shape_text(spec, hp)));
    if (!type_allowed(spec.kind, info->traits))
        problems.push_back(str_cat("'", name, "' has type ", info->traits.name, ", which tern cannot use for ",
                                   spec.kind == TensorKind::kTernary     ? "a ternary projection"
                                   : spec.kind == TensorKind::kComplex   ? "a complex projection (TERN_C2)"
                                   : spec.kind == TensorKind::kNormVector ? "a norm"
                                                                          : "a float matrix"));
    if (spec.kind == TensorKind::kComplex) {
        const GgufTensorInfo* scale = gguf.find_tensor(scale_tensor_name(name));
        if (scale == nullptr)
            problems.push_back(str_cat("missing '", scale_tensor_name(name), "' (s_re, s_im of '", name, "')"));
        else if (scale->traits.type != GgmlType::kF32 || scale->n_elements != 2)
            problems.push_back(str_cat("'", scale->name, "' should be two F32 values (s_re, s_im), found ",
                                       scale->traits.name, " ", shape_text(*scale)));
    }
    if (spec.kind == TensorKind::kTernary) {
        // llama.cpp's `bitnet` files may carry a ".scale" companion.
        if (const GgufTensorInfo* scale = gguf.find_tensor(scale_tensor_name(name));
            scale != nullptr && (scale->traits.type != GgmlType::kF32 || scale->n_elements != 1))
            problems.push_back(str_cat("'", scale->name, "' should be one F32 value, found ", scale->traits.name,
                                       " ", shape_text(*scale)));
    }
}

std::vector<std::string> check_tensors(const GgufContents& gguf, const Architecture& arch, const Hparams& hp) {
    std::vector<std::string> problems;
    for (const TensorSpec& spec : arch.tensors) {
        if (!spec.per_layer) {
            check_tensor(gguf, spec, hp, std::string(spec.gguf_name), problems);
            continue;
        }
        for (size_t layer = 0; layer < hp.n_layer; ++layer)
            check_tensor(gguf, spec, hp, tensor_name(spec.gguf_name, layer), problems);
    }
    if (!arch.sub_norms && gguf.find_tensor("blk.0.attn_sub_norm.weight") != nullptr)
        problems.push_back(str_cat("'blk.0.attn_sub_norm.weight' is present, but architecture '", arch.name,
                                   "' has no sub-norms (wrong general.architecture?)"));
    if (gguf.find_tensor(tensor_name("blk.{}.attn_norm.weight", hp.n_layer)) != nullptr)
        problems.push_back(str_cat("tensors for layer ", hp.n_layer, " exist, but block_count is ", hp.n_layer));
    return problems;
}

std::string join_problems(const std::vector<std::string>& problems) {
    constexpr size_t kShown = 12;
    std::string text;
    for (size_t i = 0; i < problems.size() && i < kShown; ++i) text += (i ? "; " : "") + problems[i];
    if (problems.size() > kShown) text += str_cat("; and ", problems.size() - kShown, " more");
    return text;
}

Result<std::vector<float>> load_vector(const GgufContents& gguf, const std::string& name) {
    const GgufTensorInfo& info = *gguf.find_tensor(name);
    std::vector<float> values(info.n_elements);
    if (Status s = quant::dequantize(info.traits.type, gguf.tensor_data(info), values); !s.ok())
        return s.error().within(str_cat("tensor '", name, "'"));
    return values;
}

Result<FloatMatrix> load_float_matrix(const GgufContents& gguf, const GgufTensorInfo& info) {
    FloatMatrix m;
    m.rows = info.ne[1];
    m.cols = info.ne[0];
    // Q8_0 and Q6_K rows stay as stored: the head kernels read them, the embedding decodes a row.
    const bool head_kernel_type = (info.traits.type == GgmlType::kQ8_0 && info.ne[0] % 32 == 0) ||
                                  (info.traits.type == GgmlType::kQ6_K && info.ne[0] % 256 == 0);
    if (kernels::float_matmul_supports(info.traits.type) || head_kernel_type) {
        m.type = info.traits.type;
        m.data = gguf.tensor_data(info).data();
        m.row_bytes = info.n_bytes / m.rows;
        return m;
    }
    // Types without a kernel of their own are widened to F32 once (exact for every ggml type).
    m.owned.resize(info.n_elements);
    if (Status s = quant::dequantize(info.traits.type, gguf.tensor_data(info), m.owned); !s.ok())
        return s.error().within(str_cat("tensor '", info.name, "'"));
    m.type = GgmlType::kF32;
    m.data = reinterpret_cast<const std::byte*>(m.owned.data());
    m.row_bytes = m.cols * sizeof(float);
    return m;
}

// `post_training`: float tensors of an ordinary model (a llama.cpp F16 file), ternarised by that
// method; otherwise float tensors must hold ternary values times one scale.
Result<quant::PackedTernary> load_ternary(const GgufContents& gguf, const GgufTensorInfo& info,
                                          PostTrainingMethod post_training = PostTrainingMethod::kNone) {
    float extra = 1.0f;
    if (const GgufTensorInfo* scale = gguf.find_tensor(scale_tensor_name(info.name))) {
        extra = reinterpret_cast<const float*>(gguf.tensor_data(*scale).data())[0];
        if (!std::isfinite(extra)) return Error(str_cat("tensor '", scale->name, "' is not a finite number"));
    }
    const size_t rows = info.ne[1], cols = info.ne[0];
    if (is_ternary_type(info.traits.type))
        return quant::repack_ggml_ternary(info.traits.type, gguf.tensor_data(info), rows, cols, extra);
    std::vector<float> weights(info.n_elements);
    TERN_TRY(quant::dequantize(info.traits.type, gguf.tensor_data(info), weights));
    if (post_training == PostTrainingMethod::kThreshold) return quant::ternarize_threshold(weights, rows, cols);
    if (post_training == PostTrainingMethod::kAbsmean) return quant::ternarize_absmean(weights, rows, cols);
    // Upstream `bitnet` files may store the ternary weights already multiplied out, as floats.
    TERN_ASSIGN_OR_RETURN(quant::PackedTernary packed, quant::pack_exact_ternary(weights, rows, cols));
    for (size_t r = 0; r < packed.rows; ++r) packed.row_scale.data()[r] *= extra;
    return packed;
}

Result<quant::PackedComplex> load_complex(const GgufContents& gguf, const GgufTensorInfo& info) {
    const float* scales = reinterpret_cast<const float*>(gguf.tensor_data(*gguf.find_tensor(scale_tensor_name(info.name))).data());
    return quant::repack_tern_c2(gguf.tensor_data(info), info.ne[1], info.ne[0], scales[0], scales[1]);
}

Result<quant::PackedWidelyLinear> load_widely_linear(const GgufContents& gguf, const GgufTensorInfo& info) {
    const size_t matrices = widely_linear_matrices(gguf, info.name);
    const float* scales = reinterpret_cast<const float*>(gguf.tensor_data(*gguf.find_tensor(scale_tensor_name(info.name))).data());
    const size_t rows = info.ne[1] / matrices, cols = info.ne[0];
    std::vector<std::vector<uint8_t>> codes(matrices);
    std::vector<float> scale_re(matrices), scale_im(matrices);
    const auto bytes = gguf.tensor_data(info);
    const size_t matrix_bytes = rows * cols / 4;
    for (size_t j = 0; j < matrices; ++j) {
        TERN_ASSIGN_OR_RETURN(codes[j], quant::decode_tern_c2(bytes.subspan(j * matrix_bytes, matrix_bytes), rows, cols));
        scale_re[j] = scales[2 * j];
        scale_im[j] = scales[2 * j + 1];
    }
    std::vector<std::span<const uint8_t>> views(codes.begin(), codes.end());
    return quant::pack_widely_linear(rows, cols, views, scale_re, scale_im);
}

// HGRN-Bit files say whether the forget gates have lower bounds ([arch].use_lower_bound,
// true when absent, as in the reference's configuration).
Result<bool> uses_lower_bounds(const GgufContents& gguf, std::string_view arch_key) {
    const std::string key = str_cat(arch_key, ".use_lower_bound");
    const format::GgufValue* value = gguf.find(key);
    if (value == nullptr) return true;
    if (const std::optional<bool> flag = value->as_bool()) return *flag;
    return Error(str_cat("metadata '", key, "' should be a bool, found ", format::gguf_type_name(value->type())));
}

Result<Model> load_from_contents(const GgufContents& gguf, std::shared_ptr<const void> storage,
                                 const std::string& source, const LoadOptions& options, const MappedFile* mapping) {
    const std::string arch_key = gguf.architecture();
    if (arch_key.empty()) return Error(str_cat(source, ": no general.architecture string in the metadata"));
    const Architecture* arch = find_gguf_architecture(arch_key);
    if (arch == nullptr)
        return Error(str_cat(source, ": architecture '", arch_key,
                             "' is not supported (tern runs ", gguf_architecture_names(), ")"));
    const GgufTensorInfo* embd = gguf.find_tensor("token_embd.weight");
    Result<Hparams> hp = hparams_from_gguf(gguf, arch_key, embd != nullptr ? embd->ne[1] : 0);
    if (!hp.ok()) return hp.error().within(source);
    if (std::vector<std::string> problems = check_tensors(gguf, *arch, hp.value()); !problems.empty())
        return Error(str_cat(source, ": does not match architecture '", arch_key, "' (", problems.size(),
                             " problems): ", join_problems(problems)));

    const bool recurrent = arch->family == ModelFamily::kGatedRecurrent;
    TERN_TRY(check_head_conversion(recurrent, options.head, source));
    const std::string lower_bounds_name(recurrent ? tensor_spec(*arch, TensorRole::kLowerBounds).gguf_name : "");
    bool lower_bounds = false;
    if (recurrent) {
        Result<bool> used = uses_lower_bounds(gguf, arch_key);
        if (!used.ok()) return used.error().within(source);
        lower_bounds = used.value();
    }
    if (lower_bounds && gguf.find_tensor(lower_bounds_name) == nullptr)
        return Error(str_cat(source, ": missing '", lower_bounds_name, "' (metadata ", arch_key,
                             ".use_lower_bound is true or absent)"));

    Model model;
    model.arch = arch;
    model.hp = hp.value();
    model.rope = arch->gguf_rope;
    model.source = source;
    model.storage = std::move(storage);
    model.file_bytes = gguf.file_bytes().size();
    TERN_ASSIGN_OR_RETURN(model.token_embd, load_float_matrix(gguf, *embd));
    TERN_ASSIGN_OR_RETURN(model.output_norm, load_vector(gguf, "output_norm.weight"));
    std::vector<RepackJob> jobs;
    if (model.widely_linear()) {
        model.float_activations = options.widely_linear_activations == WidelyLinearActivations::kFloat;
        const GgufTensorInfo* output = gguf.find_tensor("output.weight");
        model.output = model.token_embd;   // describes the head's source type; never read
        model.output.type = GgmlType::kTernC2;
        jobs.push_back({.name = output->name, .source_bytes = output->n_bytes, .build = {}, .dest = nullptr, .done = {},
                        .build_complex = {}, .dest_complex = nullptr,
                        .build_widely_linear = [&gguf, output] { return load_widely_linear(gguf, *output); },
                        .dest_widely_linear = &model.output_widely_linear});
    } else if (recurrent) {
        const GgufTensorInfo* output = gguf.find_tensor("output.weight");
        // Describes the head's source; never read.
        model.output.type = output->traits.type;
        model.output.rows = output->ne[1];
        model.output.cols = output->ne[0];
        jobs.push_back({.name = output->name, .source_bytes = output->n_bytes,
                        .build = [&gguf, output] { return load_ternary(gguf, *output); },
                        .dest = &model.output_ternary, .done = {}});
        TERN_ASSIGN_OR_RETURN(model.output_in_norm,
                              load_vector(gguf, std::string(tensor_spec(*arch, TensorRole::kOutputInNorm).gguf_name)));
        if (lower_bounds) {
            TERN_ASSIGN_OR_RETURN(model.lower_bounds, load_vector(gguf, lower_bounds_name));
        }
    } else if (const GgufTensorInfo* output = gguf.find_tensor("output.weight")) {
        TERN_ASSIGN_OR_RETURN(model.output, load_float_matrix(gguf, *output));
    } else {
        model.tied_head = true;
        model.output = model.token_embd;
        model.output.owned.clear();   // a view of token_embd's storage
        model.output.owned.shrink_to_fit();
    }

    model.layers.resize(model.hp.n_layer);
    for (size_t l = 0; l < model.hp.n_layer; ++l) {
        LayerWeights& w = model.layers[l];
        for (const TensorSpec& spec : arch->tensors) {
            if (!spec.per_layer) continue;
            const std::string name = tensor_name(spec.gguf_name, l);
            if (std::vector<float>* norm = w.norm(spec.role)) {
                TERN_ASSIGN_OR_RETURN(*norm, load_vector(gguf, name));
                continue;
            }
            if (options.keep_layer && !options.keep_layer(l, model.hp.n_layer)) continue;
            const GgufTensorInfo* info = gguf.find_tensor(name);
            RepackJob job{.name = info->name, .source_bytes = info->n_bytes,
                          .build = [&gguf, info, method = options.post_training] {
                              return load_ternary(gguf, *info, method);
                          },
                          .dest = w.projection(spec.role), .done = {}};
            job.keep_rows = rows_to_keep(options, *arch, spec.role, model.hp, info->ne[1]);
            if (spec.kind == TensorKind::kComplex) {
                job.build = {};
                job.dest = nullptr;
                job.build_complex = [&gguf, info] { return load_complex(gguf, *info); };
                job.dest_complex = w.complex_projection(spec.role);
            } else if (spec.kind == TensorKind::kWidelyLinear) {
                job.build = {};
                job.dest = nullptr;
                job.build_widely_linear = [&gguf, info] { return load_widely_linear(gguf, *info); };
                job.dest_widely_linear = w.widely_linear_projection(spec.role);
            }
            // Once repacked, the file's copy is not needed: never keep both resident.
            if (mapping != nullptr) job.done = [&gguf, info, mapping] { mapping->drop_pages(gguf.tensor_data(*info)); };
            jobs.push_back(std::move(job));
        }
    }
    model.ternary_type = std::string(
        gguf.find_tensor(tensor_name(tensor_spec(*arch, first_projection_role(*arch)).gguf_name, 0))->traits.name);
    if (Status s = run_repack_jobs(jobs, options); !s.ok()) return s.error().within(source);
    if (const QuantizedHead to = head_conversion_target(model, options.head); to != QuantizedHead::kNone) {
        TERN_TRY(convert_head(model, to, options.threads,
                              rows_to_keep(options, *arch, TensorRole::kOutput, model.hp, model.output.rows)));
        // The conversion read the file head (this rank's rows); from now on only embedding rows are
        // read, unless the head is read in place.
        if (mapping != nullptr && !model.output_q6_k.borrowed())
            mapping->drop_pages({model.output.data, model.output.bytes()});   // ignores ranges outside the file
    }
    return model;
}

}  // namespace

Result<Model> load_gguf_model(const GgufContents& gguf, std::shared_ptr<const void> storage,
                              const std::string& source, const LoadOptions& options) {
    return load_from_contents(gguf, std::move(storage), source, options, nullptr);
}

Result<Model> load_gguf_model(const std::string& path, const LoadOptions& options) {
    TERN_ASSIGN_OR_RETURN(format::GgufFile file, format::GgufFile::open(path));
    auto owned = std::make_shared<format::GgufFile>(std::move(file));
    const format::GgufContents& contents = owned->contents();
    return load_from_contents(contents, owned, path, options, &owned->mapping());
}

}  // namespace tern::model
