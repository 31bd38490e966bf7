#include "distributed/mpi_job.h"

#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>
#include <vector>

#include "core/check.h"
#include "distributed/wait_watchdog.h"

namespace tern::distributed {
namespace {

class WorldJob final : public MpiJob {
public:
    WorldJob() {
        int rank = 0, size = 1, local = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        MPI_Comm host;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &host);
        MPI_Comm_size(host, &local);
        MPI_Comm_free(&host);
        rank_ = static_cast<size_t>(rank);
        size_ = static_cast<size_t>(size);
        local_size_ = static_cast<size_t>(local);
    }
    ~WorldJob() override {
        watchdog_.reset();
        MPI_Finalize();
    }

    size_t rank() const override { return rank_; }
    size_t size() const override { return size_; }
    size_t local_size() const override { return local_size_; }

    void watch_waits(std::chrono::milliseconds limit) override {
        watchdog_ = std::make_unique<WaitWatchdog>(limit, rank_);
    }

    void broadcast(std::span<std::byte> bytes) override {
        TERN_CHECK(bytes.size() <= INT_MAX);
        const WaitWatchdog::Scope waiting(watchdog_.get(), "a broadcast from rank 0");
        MPI_Bcast(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, 0, MPI_COMM_WORLD);
    }

    void broadcast_after_wait(std::span<std::byte> bytes) override {
        TERN_CHECK(bytes.size() <= INT_MAX);
        MPI_Request request;
        MPI_Ibcast(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, 0, MPI_COMM_WORLD, &request);
        if (leader()) {
            const WaitWatchdog::Scope waiting(watchdog_.get(), "sending the next command");
            MPI_Wait(&request, MPI_STATUS_IGNORE);
            return;
        }
        // While a generation runs the next command comes within microseconds: spin briefly,
        // then check once a millisecond.
        const auto spin_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
        for (int done = 0;;) {
            MPI_Test(&request, &done, MPI_STATUS_IGNORE);
            if (done != 0) return;
            if (std::chrono::steady_clock::now() > spin_until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    void allgather_columns(float* rows, size_t n_rows, size_t stride, std::span<const size_t> bounds) override {
        pack_mine(rows, n_rows, stride, bounds);
        const WaitWatchdog::Scope waiting(watchdog_.get(), "exchanging a layer's outputs");
        MPI_Allgatherv(send_.data(), counts_[rank_], MPI_FLOAT, received_.data(), counts_.data(), displacements_.data(),
                       MPI_FLOAT, MPI_COMM_WORLD);
        unpack_others(rows, n_rows, stride, bounds);
    }

    void gather_columns(float* rows, size_t n_rows, size_t stride, std::span<const size_t> bounds) override {
        pack_mine(rows, n_rows, stride, bounds);
        const WaitWatchdog::Scope waiting(watchdog_.get(), "gathering the logits");
        MPI_Gatherv(send_.data(), counts_[rank_], MPI_FLOAT, received_.data(), counts_.data(), displacements_.data(),
                    MPI_FLOAT, 0, MPI_COMM_WORLD);
        if (leader()) unpack_others(rows, n_rows, stride, bounds);
    }

    void send(size_t to, const float* data, size_t count) override {
        TERN_CHECK(count <= INT_MAX);
        const WaitWatchdog::Scope waiting(watchdog_.get(), "sending to the next pipeline rank");
        MPI_Send(data, static_cast<int>(count), MPI_FLOAT, static_cast<int>(to), kPointToPointTag, MPI_COMM_WORLD);
    }

    void receive(size_t from, float* data, size_t count) override {
        TERN_CHECK(count <= INT_MAX);
        const WaitWatchdog::Scope waiting(watchdog_.get(), "receiving from the pipeline");
        MPI_Recv(data, static_cast<int>(count), MPI_FLOAT, static_cast<int>(from), kPointToPointTag, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    }

    void send_without_waiting(size_t to, const float* data, size_t count) override {
        TERN_CHECK(count <= INT_MAX);
        MPI_Request& request = pending_sends_.emplace_back();
        MPI_Isend(data, static_cast<int>(count), MPI_FLOAT, static_cast<int>(to), kPointToPointTag, MPI_COMM_WORLD,
                  &request);
    }

    void finish_sends() override {
        if (pending_sends_.empty()) return;
        const WaitWatchdog::Scope waiting(watchdog_.get(), "sending the hidden states and logits to rank 0");
        MPI_Waitall(static_cast<int>(pending_sends_.size()), pending_sends_.data(), MPI_STATUSES_IGNORE);
        pending_sends_.clear();
    }

    size_t receive_without_waiting(size_t from, float* data, size_t count) override {
        TERN_CHECK(count <= INT_MAX);
        PendingReceive& pending = pending_receives_.emplace_back();
        pending.ticket = ++last_ticket_;
        MPI_Irecv(data, static_cast<int>(count), MPI_FLOAT, static_cast<int>(from), kPointToPointTag, MPI_COMM_WORLD,
                  &pending.request);
        return pending.ticket;
    }

    void finish_receives(size_t ticket) override {
        std::vector<MPI_Request> requests;
        while (!pending_receives_.empty() && pending_receives_.front().ticket <= ticket) {
            requests.push_back(pending_receives_.front().request);
            pending_receives_.pop_front();
        }
        if (requests.empty()) return;
        const WaitWatchdog::Scope waiting(watchdog_.get(), "receiving the last pipeline rank's hidden states and logits");
        MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
    }

    bool any(bool flag) override {
        int mine = flag ? 1 : 0, result = 0;
        const WaitWatchdog::Scope waiting(watchdog_.get(), "agreeing on a flag");
        MPI_Allreduce(&mine, &result, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
        return result != 0;
    }

    std::vector<std::string> gather_text(std::string_view mine) override {
        TERN_CHECK(mine.size() <= INT_MAX);
        const WaitWatchdog::Scope waiting(watchdog_.get(), "gathering the ranks' messages");
        const int length = static_cast<int>(mine.size());
        const bool root = rank() == 0;
        std::vector<int> lengths(root ? size() : 0), offsets(root ? size() : 0);
        MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
        size_t total = 0;
        for (size_t r = 0; r < lengths.size(); ++r) {
            TERN_CHECK(total + static_cast<size_t>(lengths[r]) <= INT_MAX);
            offsets[r] = static_cast<int>(total);
            total += static_cast<size_t>(lengths[r]);
        }
        std::string all(total, '\0');
        MPI_Gatherv(mine.data(), length, MPI_BYTE, all.data(), lengths.data(), offsets.data(), MPI_BYTE, 0, MPI_COMM_WORLD);
        std::vector<std::string> texts;
        for (size_t r = 0; r < lengths.size(); ++r) texts.push_back(all.substr(offsets[r], lengths[r]));
        return texts;
    }

    [[noreturn]] void abort(int exit_code) override {
        MPI_Abort(MPI_COMM_WORLD, exit_code);
        std::abort();   // MPI_Abort does not return; this tells the compiler so
    }

private:
    static constexpr int kPointToPointTag = 7;

    // Lays out counts and displacements for these bounds and copies this rank's columns out.
    void pack_mine(const float* rows, size_t n_rows, size_t stride, std::span<const size_t> bounds) {
        TERN_CHECK(bounds.size() == size_ + 1 && bounds[size_] <= stride);
        counts_.resize(size_);
        displacements_.resize(size_);
        size_t total = 0;
        for (size_t r = 0; r < size_; ++r) {
            const size_t count = n_rows * (bounds[r + 1] - bounds[r]);
            TERN_CHECK(total + count <= INT_MAX);
            counts_[r] = static_cast<int>(count);
            displacements_[r] = static_cast<int>(total);
            total += count;
        }
        received_.resize(total);
        const size_t begin = bounds[rank_], width = bounds[rank_ + 1] - begin;
        send_.resize(n_rows * width);
        for (size_t t = 0; t < n_rows; ++t)
            std::memcpy(send_.data() + t * width, rows + t * stride + begin, width * sizeof(float));
    }

    void unpack_others(float* rows, size_t n_rows, size_t stride, std::span<const size_t> bounds) const {
        for (size_t r = 0; r < size_; ++r) {
            if (r == rank_) continue;
            const size_t begin = bounds[r], width = bounds[r + 1] - begin;
            const float* from = received_.data() + displacements_[r];
            for (size_t t = 0; t < n_rows; ++t)
                std::memcpy(rows + t * stride + begin, from + t * width, width * sizeof(float));
        }
    }

    size_t rank_ = 0, size_ = 1, local_size_ = 1;
    std::vector<int> counts_, displacements_;
    std::vector<float> send_, received_;
    std::vector<MPI_Request> pending_sends_;
    struct PendingReceive {
        size_t ticket = 0;
        MPI_Request request = MPI_REQUEST_NULL;
    };
    std::deque<PendingReceive> pending_receives_;   // in ticket order
    size_t last_ticket_ = 0;
    std::unique_ptr<WaitWatchdog> watchdog_;   // null until watch_waits()
};

}  // namespace

Result<std::unique_ptr<MpiJob>> join_mpi_job() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return Error("MPI is already initialized in this process");
    int provided = 0;
    // serve's sessions are driven from its scheduler thread, created and destroyed on the main
    // thread: never at the same time, which is what SERIALIZED allows.
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return Error("MPI did not start (MPI_Init_thread failed)");
    if (provided < MPI_THREAD_SERIALIZED) {
        MPI_Finalize();
        return Error("this MPI library does not allow calls from more than one thread (MPI_THREAD_SERIALIZED)");
    }
    return std::unique_ptr<MpiJob>(std::make_unique<WorldJob>());
}

std::string mpi_description() {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string text(version, static_cast<size_t>(length));
    if (const size_t end = text.find_first_of(",\n"); end != std::string::npos) text.resize(end);
    return text;
}

bool mpi_built_in() { return true; }

}  // namespace tern::distributed
