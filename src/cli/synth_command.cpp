// `tern synth`: writes a random ternary model of a real shape as GGUF, with the architecture
// names and metadata of the upstream converters (so llama.cpp / bitnet.cpp can load it too).
#include <cstdio>

#include "cli/commands.h"
#include "core/str_cat.h"
#include "model/synthetic_model.h"

namespace tern::cli {

int run_synth(const SynthOptions& options) {
    const model::SyntheticShape* shape = model::find_synthetic_shape(options.shape);
    if (shape == nullptr)
        return report_failure(str_cat("synth: --shape '", options.shape, "' is not one of ", model::synthetic_shape_names()));
    const auto type = format::ggml_type_from_name(options.type);
    const auto embd_type = format::ggml_type_from_name(options.embd_type);
    if (!type) return report_failure(str_cat("synth: --type '", options.type, "' is not a ggml type name"));
    if (!embd_type) return report_failure(str_cat("synth: --embd-type '", options.embd_type, "' is not a ggml type name"));
    const model::SyntheticOptions synthetic{.ternary_type = *type, .embd_type = *embd_type,
                                            .untied_head = options.untied_head, .seed = options.seed,
                                            .threads = options.threads > 0 ? options.threads : default_thread_count(),
                                            .gguf_arch = options.arch};
    auto writer = model::synthetic_gguf(*shape, synthetic);
    if (!writer.ok()) return report_failure(str_cat("synth: ", writer.error().message()));
    if (Status s = writer.value().write_to_file(options.output); !s.ok()) return report_failure(s.error().message());
    std::fprintf(stderr, "%s\n",
                 str_cat("wrote ", options.output, " (", options.shape, " shape as ",
                         model::synthetic_gguf_architecture(*shape, synthetic), ", ", options.type, " ternary)").c_str());
    return 0;
}

}  // namespace tern::cli
