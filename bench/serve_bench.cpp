// Aggregate generation throughput of an OpenAI-compatible server (tern serve, or any other)
// with 1..N concurrent streaming clients: each client streams /v1/completions with the same
// prompt and max_tokens, and the tokens counted are those the server reports in `usage`.
// Prints, per concurrency, the median over --repeat runs of aggregate tokens/s, per-stream
// tokens/s and time to first token, and the ratio to the first concurrency listed. Runs
// alternate between concurrencies (1, 4, 1, 4, ...) so that drift in a shared machine's speed
// hits all of them alike.
//   serve_bench --port 8080 --streams 1,4 --tokens 64 --repeat 3 [--ban-token ID] [--api-key K]
#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct StreamResult {
    bool ok = false;
    size_t tokens = 0;
    double first_token_s = 0;
    double total_s = 0;
};

struct Options {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::vector<int> streams = {1, 4};
    int tokens = 64;
    int repeat = 3;
    int ban_token = -1;
    std::string api_key;
    std::string prompt = "Once upon a time, there was a little fox named";
};

StreamResult run_stream(const Options& options, int index) {
    httplib::Client client(options.host, options.port);
    client.set_read_timeout(600, 0);
    json body = {{"prompt", options.prompt}, {"max_tokens", options.tokens}, {"stream", true},
                 {"seed", index}, {"stream_options", {{"include_usage", true}}}};
    if (options.ban_token >= 0) body["logit_bias"] = {{std::to_string(options.ban_token), -100}};
    httplib::Headers headers;
    if (!options.api_key.empty()) headers.emplace("Authorization", "Bearer " + options.api_key);
    StreamResult result;
    const Clock::time_point start = Clock::now();
    std::string buffer;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.headers = headers;
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        if (result.first_token_s == 0) result.first_token_s = std::chrono::duration<double>(Clock::now() - start).count();
        buffer.append(data, n);
        return true;
    };
    auto res = client.send(req);
    result.total_s = std::chrono::duration<double>(Clock::now() - start).count();
    if (!res || res->status != 200) return result;
    const size_t usage = buffer.rfind("\"usage\":{");
    if (usage == std::string::npos) return result;
    const size_t line_start = buffer.rfind("data: ", usage);
    const size_t line_end = buffer.find("\n\n", usage);
    const json chunk = json::parse(buffer.substr(line_start + 6, line_end - line_start - 6), nullptr, false);
    if (chunk.is_discarded()) return result;
    result.tokens = chunk["usage"]["completion_tokens"].get<size_t>();
    result.ok = true;
    return result;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Aggregate throughput of an OpenAI-compatible server with concurrent streams"};
    Options options;
    app.add_option("--host", options.host)->capture_default_str();
    app.add_option("--port", options.port)->capture_default_str();
    app.add_option("--streams", options.streams, "Concurrent streams to measure")->delimiter(',');
    app.add_option("--tokens", options.tokens, "max_tokens of each request")->capture_default_str();
    app.add_option("--repeat", options.repeat, "Runs per concurrency (median reported)")->capture_default_str();
    app.add_option("--ban-token", options.ban_token, "Token id given logit_bias -100 (e.g. end of text)");
    app.add_option("--api-key", options.api_key);
    app.add_option("--prompt", options.prompt)->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    struct Samples {
        std::vector<double> aggregate, per_stream, first;
    };
    std::vector<Samples> samples(options.streams.size());
    for (int r = 0; r < options.repeat; ++r) {
        for (size_t k = 0; k < options.streams.size(); ++k) {
            const int n = options.streams[k];
            std::vector<StreamResult> results(static_cast<size_t>(n));
            std::vector<std::thread> clients;
            const Clock::time_point start = Clock::now();
            for (int i = 0; i < n; ++i) clients.emplace_back([&, i] { results[i] = run_stream(options, i); });
            for (std::thread& t : clients) t.join();
            const double wall = std::chrono::duration<double>(Clock::now() - start).count();
            size_t tokens = 0;
            double stream_rate = 0, first_token = 0;
            for (const StreamResult& s : results) {
                if (!s.ok) {
                    std::fprintf(stderr, "serve_bench: a request failed (is the server at %s:%d?)\n",
                                 options.host.c_str(), options.port);
                    return 1;
                }
                tokens += s.tokens;
                stream_rate += static_cast<double>(s.tokens) / s.total_s / n;
                first_token += s.first_token_s / n;
            }
            samples[k].aggregate.push_back(static_cast<double>(tokens) / wall);
            samples[k].per_stream.push_back(stream_rate);
            samples[k].first.push_back(first_token);
        }
    }
    std::printf("| streams | aggregate tok/s | per-stream tok/s | first token s | vs %d stream(s) |\n",
                options.streams.front());
    std::printf("|---:|---:|---:|---:|---:|\n");
    const double base = median(samples.front().aggregate);
    for (size_t k = 0; k < options.streams.size(); ++k)
        std::printf("| %d | %.1f | %.1f | %.3f | %.2fx |\n", options.streams[k], median(samples[k].aggregate),
                    median(samples[k].per_stream), median(samples[k].first), median(samples[k].aggregate) / base);
    return 0;
}
