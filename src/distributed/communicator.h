// The messages a model split over ranks needs, as an interface: the engine speaks to it, and
// an MPI build provides it (distributed/mpi_job.h). Every call is collective:
// each rank makes the same calls in the same order, or the job hangs.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern::distributed {

class Communicator {
public:
    virtual ~Communicator() = default;

    virtual size_t rank() const = 0;
    virtual size_t size() const = 0;
    bool leader() const { return rank() == 0; }

    // Rank 0's bytes to every rank (the span has the same size everywhere).
    virtual void broadcast(std::span<std::byte> bytes) = 0;
    // The same, for a message the other ranks may wait on for a long time (the leader's next
    // command, hours later in an idle server): they poll and sleep rather than spin on a core.
    virtual void broadcast_after_wait(std::span<std::byte> bytes) = 0;

    // n_rows rows of floats, `stride` apart: rank r holds columns [bounds[r], bounds[r + 1]) of
    // every row in place (bounds has size() + 1 entries). Afterwards every rank holds every
    // column. Only copies bits, so the result is the same in any order.
    virtual void allgather_columns(float* rows, size_t n_rows, size_t stride, std::span<const size_t> bounds) = 0;
    // The same, but only rank 0 receives the other ranks' columns.
    virtual void gather_columns(float* rows, size_t n_rows, size_t stride, std::span<const size_t> bounds) = 0;

    // Point to point (the pipeline's hidden states and logits): `to` receives exactly what is sent.
    virtual void send(size_t to, const float* data, size_t count) = 0;
    virtual void receive(size_t from, float* data, size_t count) = 0;
    // A send that returns at once (the pipeline's last rank sends each micro-batch's hidden states
    // and logits while rank 0 is still sending it the next ones): `data` must stay as it is until
    // finish_sends().
    virtual void send_without_waiting(size_t to, const float* data, size_t count) = 0;
    // Waits until every send_without_waiting() has been received.
    virtual void finish_sends() = 0;
    // A receive that returns at once (the pipeline's rank 0 takes a batch's hidden states and
    // logits while it starts the next batch): `data` must stay as it is until finish_receives()
    // has waited for the ticket returned. Messages from one rank match these receives in the
    // order they start.
    virtual size_t receive_without_waiting(size_t from, float* data, size_t count) = 0;
    // Waits until every receive_without_waiting() up to and including `ticket` has arrived.
    virtual void finish_receives(size_t ticket) = 0;

    // Each rank's flag; true on every rank when any rank passed true.
    virtual bool any(bool flag) = 0;
    // Each rank's text, to rank 0 in rank order (the other ranks get an empty list): why a
    // rank failed, reported by rank 0 before any rank's exit can end the job.
    virtual std::vector<std::string> gather_text(std::string_view mine) = 0;
};

}  // namespace tern::distributed
