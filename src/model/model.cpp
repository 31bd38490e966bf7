#include "model/model.h"

namespace tern::model {

size_t Model::decode_weight_bytes() const {
    size_t bytes = output.bytes();
    for (const LayerWeights& w : layers)
        for (const quant::PackedTernary* m : {&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down})
            bytes += m->weight_bytes();
    return bytes;
}

}  // namespace tern::model
