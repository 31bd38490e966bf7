#include "cli/tensor_table.h"

#include <algorithm>
#include <cstdio>

#include "core/str_cat.h"

namespace tern::cli {

void print_tensor_table(const std::vector<TensorRow>& rows, const std::string& where_header) {
    size_t name_width = 4, type_width = 4, shape_width = 5;
    for (const TensorRow& row : rows) {
        name_width = std::max(name_width, row.name.size());
        type_width = std::max(type_width, row.type.size());
        shape_width = std::max(shape_width, row.shape.size());
    }
    std::printf("\ntensors (%zu):\n", rows.size());
    if (rows.empty()) return;
    std::printf("  %-*s  %-*s  %-*s  %15s  %s\n", int(name_width), "name", int(type_width), "type", int(shape_width),
                "shape", "bytes", where_header.c_str());
    for (const TensorRow& row : rows) {
        std::printf("  %-*s  %-*s  %-*s  %15s  %s\n", int(name_width), row.name.c_str(), int(type_width),
                    row.type.c_str(), int(shape_width), row.shape.c_str(), with_commas(row.n_bytes).c_str(),
                    row.where.c_str());
    }
}

void print_totals(const std::vector<TensorRow>& rows) {
    struct TypeTotal {
        size_t tensors = 0;
        uint64_t params = 0;
        uint64_t bytes = 0;
    };
    std::map<std::string, TypeTotal> by_type;
    uint64_t params = 0, bytes = 0;
    for (const TensorRow& row : rows) {
        params += row.n_params;
        bytes += row.n_bytes;
        TypeTotal& total = by_type[row.type];
        ++total.tensors;
        total.params += row.n_params;
        total.bytes += row.n_bytes;
    }
    const auto bpw = [](uint64_t b, uint64_t p) { return p == 0 ? 0.0 : 8.0 * static_cast<double>(b) / static_cast<double>(p); };
    std::printf("\ntotals:\n");
    std::printf("  %-16s %s (%.3f B)\n", "parameters:", with_commas(params).c_str(), static_cast<double>(params) / 1e9);
    std::printf("  %-16s %s (%s)\n", "tensor bytes:", with_commas(bytes).c_str(), human_bytes(bytes).c_str());
    std::printf("  %-16s %.4f\n", "bits per weight:", bpw(bytes, params));
    for (const auto& [type, total] : by_type) {
        std::printf("  %-16s %zu tensors, %s parameters, %s, %.4f bits per weight\n", (type + ":").c_str(),
                    total.tensors, with_commas(total.params).c_str(), human_bytes(total.bytes).c_str(),
                    bpw(total.bytes, total.params));
    }
}

}  // namespace tern::cli
