// This process's place in an MPI job (mpirun -n N tern ...): the Communicator over
// MPI_COMM_WORLD. A build without MPI has the same functions, which say so.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "distributed/communicator.h"
#include "tern/status.h"

namespace tern::distributed {

class MpiJob : public Communicator {
public:
    // Ranks on this host, to share its cores among them.
    virtual size_t local_size() const = 0;
    // Ends every rank of the job with `exit_code` (after a rank has reported its own failure).
    [[noreturn]] virtual void abort(int exit_code) = 0;
    // From now on a wait for the other ranks longer than `limit` ends this process with a
    // line saying which wait (wait_watchdog.h). Not the waits between steps
    // (broadcast_after_wait on a follower: an idle server waits for hours), and not before the
    // model is loaded everywhere (ranks load at their own pace).
    virtual void watch_waits(std::chrono::milliseconds limit) = 0;
};

// Initializes MPI (once per process; finalized when the job object goes). Errors: a build
// without MPI, or an MPI that does not start.
Result<std::unique_ptr<MpiJob>> join_mpi_job();

// "Open MPI v4.1.4, ..." or why there is none, for tern info.
std::string mpi_description();
bool mpi_built_in();

}  // namespace tern::distributed
