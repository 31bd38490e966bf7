// mpi_job.h for a build without MPI: every entry point says so.
#include "distributed/mpi_job.h"

namespace tern::distributed {

Result<std::unique_ptr<MpiJob>> join_mpi_job() {
    return Error("this tern was built without MPI (install libopenmpi-dev and rebuild to use --split)");
}

std::string mpi_description() { return "not built in (libopenmpi-dev was not found at build time)"; }

bool mpi_built_in() { return false; }

}  // namespace tern::distributed
