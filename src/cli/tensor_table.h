// Tabular output shared by the `tern inspect` views: one row per tensor, and totals
// (parameters, bytes, bits per weight, per storage type).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tern::cli {

struct TensorRow {
    std::string name;
    std::string type;       // "TQ2_0", "BF16", "U8 (ternary x4)"
    std::string shape;      // "[2560, 6912]"
    uint64_t n_params = 0;  // logical weights (packed ternary counts 4 per byte)
    uint64_t n_bytes = 0;
    std::string where;      // "0x1a2b00" offset or shard name
};

void print_tensor_table(const std::vector<TensorRow>& rows, const std::string& where_header);
void print_totals(const std::vector<TensorRow>& rows);

}  // namespace tern::cli
