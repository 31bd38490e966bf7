// tern pull against a small Hub on loopback that the test starts: a Hub (file list, resolve
// with ETag, LFS headers and redirects, a private repository) and a separate CDN origin
// (Range, a dropped connection, a corrupt byte). Never the internet.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "cli/run_tern.h"
#include "hub/download_lock.h"
#include "hub/file_digest.h"
#include "hub/pull.h"
#include "hub/repo_spec.h"
#include "testing/test_files.h"
#include "tern/hub.h"
#include "tern/model.h"

namespace tern::hub {
namespace {

constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";
const std::filesystem::path kShippedModel =
    std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories" / "tinystories-bitnet.gguf";

std::string file_bytes(size_t n, uint32_t seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u + seed) >> 13);
    return s;
}

std::string digest_of(const std::string& bytes, bool git) {
    testing::TempDir dir;
    const auto path = dir / "blob";
    std::ofstream(path, std::ios::binary) << bytes;
    return git ? git_blob_sha1_hex(path).value() : sha256_hex(path).value();
}

struct HubFile {
    std::string bytes;
    bool lfs = true;
    std::string etag;   // SHA-256 for LFS, git SHA-1 otherwise
};

// The Hub and its CDN, each a cpp-httplib server on its own loopback port.
class FakeHub {
public:
    FakeHub() {
        add("org/gguf-model", "model-q8.gguf", file_bytes(300'000, 1), true);
        add("org/gguf-model", "README.md", "# a model\n", false);
        add("org/two-ggufs", "a.gguf", file_bytes(1000, 2), true);
        add("org/two-ggufs", "b.gguf", file_bytes(1000, 3), true);
        add("org/folder", "config.json", R"({"architectures": ["LlamaForCausalLM"]})", false);
        add("org/folder", "model.safetensors", file_bytes(50'000, 4), true);
        add("org/folder", "pytorch_model.bin", file_bytes(50'000, 5), true);
        add("org/folder", "original/consolidated.pth", file_bytes(1000, 6), true);
        add("org/private", "weights.gguf", file_bytes(2000, 7), true);
        std::ifstream shipped(kShippedModel, std::ios::binary);
        add("org/tinystories", "tinystories-bitnet.gguf", {std::istreambuf_iterator<char>(shipped), {}}, true);
        start(hub_, hub_thread_, hub_port_);
        start(cdn_, cdn_thread_, cdn_port_);
        routes();
    }
    ~FakeHub() {
        hub_.stop();
        cdn_.stop();
        hub_thread_.join();
        cdn_thread_.join();
    }

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(hub_port_); }
    const HubFile& file(const std::string& repo, const std::string& path) { return repos_[repo][path]; }

    std::atomic<int> drop_next{0};        // CDN responses to cut off halfway
    std::atomic<bool> corrupt{false};     // the CDN flips a byte
    std::atomic<int> busy_next{0};        // CDN responses that are 503
    std::atomic<bool> oversize{false};    // the CDN sends more than the Hub announced
    std::atomic<int> cdn_requests{0};
    std::mutex seen_mutex;
    std::vector<std::string> cdn_ranges;          // Range headers the CDN saw
    std::vector<std::string> cdn_authorization;   // Authorization headers the CDN saw (must stay empty)

private:
    void add(const std::string& repo, const std::string& path, std::string bytes, bool lfs) {
        HubFile f{std::move(bytes), lfs, ""};
        f.etag = digest_of(f.bytes, !lfs);
        repos_[repo][path] = std::move(f);
    }

    static void start(httplib::Server& server, std::thread& thread, int& port) {
        port = server.bind_to_any_port("127.0.0.1");
        thread = std::thread([&server] { server.listen_after_bind(); });
        while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }

    bool authorized(const std::string& repo, const httplib::Request& req) const {
        return repo != "org/private" || req.get_header_value("Authorization") == "Bearer secret-token";
    }

    void routes() {
        hub_.Get(R"(/api/models/([^/]+)/([^/]+)/revision/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            const std::string repo = std::string(req.matches[1]) + "/" + std::string(req.matches[2]);
            if (!repos_.count(repo) || (req.matches[3] != "main" && req.matches[3] != kCommit)) return void(res.status = 404);
            if (!authorized(repo, req)) return void(res.status = 401);
            nlohmann::json siblings = nlohmann::json::array();
            for (const auto& [path, f] : repos_.at(repo)) siblings.push_back({{"rfilename", path}});
            res.set_content(nlohmann::json{{"sha", kCommit}, {"siblings", siblings}}.dump(), "application/json");
        });
        hub_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            const std::string repo = std::string(req.matches[1]) + "/" + std::string(req.matches[2]);
            const std::string path = req.matches[4];
            if (!repos_.count(repo) || !repos_.at(repo).count(path)) return void(res.status = 404);
            if (!authorized(repo, req)) return void(res.status = 401);
            const HubFile& f = repos_.at(repo).at(path);
            res.set_header("X-Repo-Commit", kCommit);
            if (f.lfs) {
                res.status = 302;
                res.set_header("X-Linked-Etag", "\"" + f.etag + "\"");
                res.set_header("X-Linked-Size", std::to_string(f.bytes.size()));
                res.set_header("Location", "http://127.0.0.1:" + std::to_string(cdn_port_) + "/blobs/" + f.etag);
                return;
            }
            res.set_header("ETag", "\"" + f.etag + "\"");
            res.set_content(f.bytes, "application/octet-stream");
        });
        cdn_.Get(R"(/blobs/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
            ++cdn_requests;
            {
                std::lock_guard lock(seen_mutex);
                if (req.has_header("Range")) cdn_ranges.push_back(req.get_header_value("Range"));
                if (req.has_header("Authorization")) cdn_authorization.push_back(req.get_header_value("Authorization"));
            }
            const HubFile* found = nullptr;
            for (const auto& [repo, files] : repos_)
                for (const auto& [path, f] : files)
                    if (f.etag == req.matches[1]) found = &f;
            if (found == nullptr) return void(res.status = 404);
            if (busy_next > 0 && busy_next-- > 0) return void(res.status = 503);
            std::string bytes = found->bytes;
            if (corrupt) bytes[bytes.size() / 2] ^= 0x40;
            if (oversize) bytes += std::string(5000, 'x');
            const bool drop = drop_next > 0 && drop_next-- > 0;
            res.set_content_provider(bytes.size(), "application/octet-stream",
                                     [bytes, drop](size_t offset, size_t length, httplib::DataSink& sink) {
                                         const size_t n = drop ? std::min(length, bytes.size() / 3) : length;
                                         sink.write(bytes.data() + offset, n);
                                         return !drop;   // false: the connection is cut here
                                     });
        });
    }

    std::map<std::string, std::map<std::string, HubFile>> repos_;
    httplib::Server hub_;
    httplib::Server cdn_;
    std::thread hub_thread_;
    std::thread cdn_thread_;
    int hub_port_ = 0;
    int cdn_port_ = 0;
};

class Pull : public ::testing::Test {
protected:
    HubSettings settings(const std::string& token = "") const {
        HubSettings s;
        s.endpoint = hub_.endpoint();
        s.cache_dir = dir_ / "hub";
        s.token = token;
        return s;
    }
    static RepoSpec spec(const std::string& text) { return parse_repo_spec(text).value(); }
    std::string read(const std::filesystem::path& p) const {
        std::ifstream in(p, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), {}};
    }

    FakeHub hub_;
    testing::TempDir dir_;
};

TEST(RepoSpec, ParsesRepositoriesFilesAndGlobs) {
    EXPECT_EQ(parse_repo_spec("microsoft/bitnet-b1.58-2B-4T-gguf").value().repo_id, "microsoft/bitnet-b1.58-2B-4T-gguf");
    const RepoSpec file = parse_repo_spec("org/name:sub/model.gguf").value();
    EXPECT_EQ(file.repo_id, "org/name");
    EXPECT_EQ(file.pattern, "sub/model.gguf");
    for (const char* bad : {"noslash", "a/b/c", "org/", "/name", "org/na me", "org/../x", "org/name:", "org/name:../x", "-org/x"})
        EXPECT_FALSE(parse_repo_spec(bad).ok()) << bad;
    EXPECT_TRUE(glob_match("*.gguf", "model-q8.gguf"));
    EXPECT_FALSE(glob_match("*.gguf", "sub/model.gguf"));
    EXPECT_TRUE(glob_match("**/*.gguf", "sub/model.gguf"));
    EXPECT_TRUE(glob_match("*Q4_?.gguf", "x-Q4_K.gguf"));
    EXPECT_FALSE(looks_like_repo_spec("/tmp"));
    EXPECT_TRUE(looks_like_repo_spec("org/surely-not-a-local-path"));
}

TEST(RepoSpec, FolderSelectionSkipsWhatLoadersNeverRead) {
    const std::vector<std::string> files = {"config.json", "model.safetensors", "pytorch_model.bin", "original/consolidated.pth",
                                            "tokenizer.json", "flax_model.msgpack", ".gitattributes"};
    EXPECT_EQ(select_files(files, {"o/n", ""}).value(),
              (std::vector<std::string>{"config.json", "model.safetensors", "tokenizer.json"}));
    EXPECT_EQ(select_files({"pytorch_model.bin", "config.json"}, {"o/n", ""}).value(),
              (std::vector<std::string>{"pytorch_model.bin", "config.json"}));   // .bin is all there is
    const auto two = select_files({"a.gguf", "b.gguf"}, {"o/n", ""});
    ASSERT_FALSE(two.ok());
    EXPECT_NE(two.error().message().find("has 2 GGUF files; name one as o/n:FILE (a.gguf, b.gguf)"), std::string::npos)
        << two.error().message();
    EXPECT_FALSE(select_files({"a.gguf"}, {"o/n", "*.safetensors"}).ok());
}

TEST(HubSettingsTest, ReadTheEnvironmentAsHuggingFaceHubDoes) {
    testing::TempDir home;
    std::filesystem::create_directories(home / "hf");
    std::ofstream(home / "hf" / "token") << "hf_file_token\n";
    std::map<std::string, std::string> env = {{"HOME", home.path().string()}, {"HF_HOME", (home / "hf").string()},
                                              {"HF_ENDPOINT", "http://mirror.example/"}, {"HF_HUB_OFFLINE", "1"}};
    auto getenv = [&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    };
    HubSettings s = HubSettings::from_environment(getenv);
    EXPECT_EQ(s.endpoint, "http://mirror.example");
    EXPECT_EQ(s.cache_dir, home / "hf" / "hub");
    EXPECT_EQ(s.token, "hf_file_token");
    EXPECT_TRUE(s.offline);
    env["HF_TOKEN"] = "hf_env_token";
    env["HF_HUB_CACHE"] = (home / "elsewhere").string();
    env.erase("HF_HUB_OFFLINE");
    s = HubSettings::from_environment(getenv);
    EXPECT_EQ(s.token, "hf_env_token");
    EXPECT_EQ(s.cache_dir, home / "elsewhere");
    EXPECT_FALSE(s.offline);
    env.erase("HF_HOME");
    env.erase("HF_HUB_CACHE");
    EXPECT_EQ(HubSettings::from_environment(getenv).cache_dir, home / ".cache" / "huggingface" / "hub");
}

TEST_F(Pull, FetchesIntoTheSharedCacheLayoutAndReusesIt) {
    const HubClient client(settings());
    Result<PulledRepo> pulled = pull(client, spec("org/gguf-model"), "main", {});
    ASSERT_TRUE(pulled.ok()) << pulled.error().message();
    EXPECT_EQ(pulled.value().files, std::vector<std::string>{"model-q8.gguf"});
    EXPECT_EQ(pulled.value().fetched, std::vector<std::string>{"model-q8.gguf"});
    const std::filesystem::path root = dir_ / "hub" / "models--org--gguf-model";
    const HubFile& f = hub_.file("org/gguf-model", "model-q8.gguf");
    EXPECT_EQ(read(root / "blobs" / f.etag), f.bytes);
    const std::filesystem::path link = root / "snapshots" / kCommit / "model-q8.gguf";
    ASSERT_TRUE(std::filesystem::is_symlink(link));
    EXPECT_EQ(std::filesystem::read_symlink(link), std::filesystem::path("../../blobs") / f.etag);
    EXPECT_EQ(read(root / "refs" / "main"), kCommit);
    EXPECT_EQ(pulled.value().model_path(), link);
    EXPECT_FALSE(std::filesystem::exists(root / "blobs" / (f.etag + ".incomplete")));
    {
        std::lock_guard lock(hub_.seen_mutex);
        EXPECT_TRUE(hub_.cdn_authorization.empty());
    }

    // Again: nothing is downloaded; and the cache alone answers offline.
    const int before = hub_.cdn_requests.load();
    Result<PulledRepo> again = pull(client, spec("org/gguf-model"), "main", {});
    ASSERT_TRUE(again.ok()) << again.error().message();
    EXPECT_TRUE(again.value().fetched.empty());
    EXPECT_EQ(hub_.cdn_requests.load(), before);
    HubSettings offline = settings();
    offline.offline = true;
    Result<PulledRepo> cached = pull(HubClient(offline), spec("org/gguf-model"), "main", {});
    ASSERT_TRUE(cached.ok()) << cached.error().message();
    EXPECT_EQ(cached.value().model_path(), link);
    EXPECT_FALSE(find_cached(offline, spec("org/folder"), "main").ok());

    // A regular (non-LFS) file is checked against its git SHA-1.
    Result<PulledRepo> readme = pull(client, spec("org/gguf-model:README.md"), "main", {});
    ASSERT_TRUE(readme.ok()) << readme.error().message();
    EXPECT_EQ(read(readme.value().snapshot_dir / "README.md"), "# a model\n");
}

TEST_F(Pull, ResumesADroppedConnectionAndAPartialFile) {
    const HubFile& f = hub_.file("org/gguf-model", "model-q8.gguf");
    hub_.drop_next = 2;   // the first two attempts are cut off after a third of the file
    std::vector<uint64_t> seen;
    Result<PulledRepo> pulled =
        pull(HubClient(settings()), spec("org/gguf-model:*.gguf"), "main", [&](const DownloadProgress& p) {
            seen.push_back(p.done);
            return true;
        });
    ASSERT_TRUE(pulled.ok()) << pulled.error().message();
    EXPECT_EQ(read(pulled.value().model_path()), f.bytes);
    {
        std::lock_guard lock(hub_.seen_mutex);
        ASSERT_EQ(hub_.cdn_ranges.size(), 2u);   // two resumes, each from what had arrived
        EXPECT_EQ(hub_.cdn_ranges[0], "bytes=" + std::to_string(f.bytes.size() / 3) + "-");
    }
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), f.bytes.size());

    // A partial file from an earlier run is continued, not restarted.
    const HubFile& other = hub_.file("org/folder", "model.safetensors");
    const std::filesystem::path blobs = dir_ / "hub" / "models--org--folder" / "blobs";
    std::filesystem::create_directories(blobs);
    std::ofstream(blobs / (other.etag + ".incomplete"), std::ios::binary) << other.bytes.substr(0, 20'000);
    Result<PulledRepo> folder = pull(HubClient(settings()), spec("org/folder"), "main", {});
    ASSERT_TRUE(folder.ok()) << folder.error().message();
    EXPECT_EQ(folder.value().files, (std::vector<std::string>{"config.json", "model.safetensors"}));
    EXPECT_EQ(read(folder.value().snapshot_dir / "model.safetensors"), other.bytes);
    EXPECT_EQ(folder.value().model_path(), folder.value().snapshot_dir);
    std::lock_guard lock(hub_.seen_mutex);
    EXPECT_EQ(hub_.cdn_ranges.back(), "bytes=20000-");
}

TEST_F(Pull, ACorruptDownloadIsRefusedAndRemoved) {
    hub_.corrupt = true;
    Result<PulledRepo> pulled = pull(HubClient(settings()), spec("org/gguf-model"), "main", {});
    ASSERT_FALSE(pulled.ok());
    const std::string message = pulled.error().message();
    EXPECT_NE(message.find("'model-q8.gguf': checksum mismatch: the Hub says SHA-256 "), std::string::npos) << message;
    const std::filesystem::path blobs = dir_ / "hub" / "models--org--gguf-model" / "blobs";
    EXPECT_TRUE(!std::filesystem::exists(blobs) || std::filesystem::is_empty(blobs));
    EXPECT_FALSE(std::filesystem::exists(dir_ / "hub" / "models--org--gguf-model" / "snapshots" / kCommit / "model-q8.gguf"));
}

TEST_F(Pull, ABusyCdnIsRetriedAndAnOversizedOneRefused) {
    hub_.busy_next = 1;
    Result<PulledRepo> pulled = pull(HubClient(settings()), spec("org/gguf-model"), "main", {});
    ASSERT_TRUE(pulled.ok()) << pulled.error().message();
    EXPECT_EQ(read(pulled.value().model_path()), hub_.file("org/gguf-model", "model-q8.gguf").bytes);

    hub_.oversize = true;
    Result<PulledRepo> refused = pull(HubClient(settings()), spec("org/two-ggufs:a.gguf"), "main", {});
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message().find("sent more than the 1000 bytes it announced"), std::string::npos)
        << refused.error().message();
    EXPECT_FALSE(std::filesystem::exists(dir_ / "hub" / "models--org--two-ggufs" / "snapshots" / kCommit / "a.gguf"));
    for (const char* revision : {"../escape", "/abs", ""})
        EXPECT_FALSE(pull(HubClient(settings()), spec("org/gguf-model"), revision, {}).ok()) << revision;
}

TEST_F(Pull, ABlobAnotherProcessIsDownloadingIsWaitedForNotFetchedTwice) {
    const HubFile& f = hub_.file("org/gguf-model", "model-q8.gguf");
    const std::filesystem::path root = dir_ / "hub" / "models--org--gguf-model";
    // The lock file huggingface_hub takes for this blob, held here as another process would.
    std::optional<DownloadLock> other =
        DownloadLock::acquire(dir_ / "hub" / ".locks" / "models--org--gguf-model" / (f.etag + ".lock"), {}).value();
    std::atomic<bool> waiting{false};
    Result<PulledRepo> pulled = Error("not run");
    std::thread puller([&] {
        pulled = pull(HubClient(settings()), spec("org/gguf-model"), "main", [&](const DownloadProgress& p) {
            if (p.waiting) waiting = true;
            return true;
        });
    });
    for (int i = 0; i < 1000 && !waiting; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(waiting);
    EXPECT_EQ(hub_.cdn_requests.load(), 0);
    std::filesystem::create_directories(root / "blobs");
    std::ofstream(root / "blobs" / f.etag, std::ios::binary) << f.bytes;   // the other process finishes
    other.reset();
    puller.join();
    ASSERT_TRUE(pulled.ok()) << pulled.error().message();
    EXPECT_TRUE(pulled.value().fetched.empty());
    EXPECT_EQ(hub_.cdn_requests.load(), 0);
    EXPECT_EQ(read(pulled.value().model_path()), f.bytes);

    // Two pulls of one file at once: one downloads, the other waits and finds it in place.
    const HubFile& a = hub_.file("org/two-ggufs", "a.gguf");
    Result<PulledRepo> first = Error("not run"), second = Error("not run");
    std::thread one([&] { first = pull(HubClient(settings()), spec("org/two-ggufs:a.gguf"), "main", {}); });
    std::thread two([&] { second = pull(HubClient(settings()), spec("org/two-ggufs:a.gguf"), "main", {}); });
    one.join();
    two.join();
    ASSERT_TRUE(first.ok()) << first.error().message();
    ASSERT_TRUE(second.ok()) << second.error().message();
    EXPECT_EQ(first.value().fetched.size() + second.value().fetched.size(), 1u);
    EXPECT_EQ(hub_.cdn_requests.load(), 1);
    EXPECT_EQ(read(second.value().model_path()), a.bytes);
}

TEST_F(Pull, AStoppedDownloadFailsOnOneLineAndResumesNextTime) {
    const HubFile& f = hub_.file("org/gguf-model", "model-q8.gguf");
    const std::filesystem::path blobs = dir_ / "hub" / "models--org--gguf-model" / "blobs";
    Result<PulledRepo> stopped = pull(HubClient(settings()), spec("org/gguf-model"), "main",
                                      [](const DownloadProgress& p) { return p.done < 100'000; });
    ASSERT_FALSE(stopped.ok());
    EXPECT_NE(stopped.error().message().find("'model-q8.gguf': the download was stopped at "), std::string::npos)
        << stopped.error().message();
    EXPECT_NE(stopped.error().message().find("; run again to resume"), std::string::npos);
    ASSERT_TRUE(std::filesystem::exists(blobs / (f.etag + ".incomplete")));
    const uint64_t kept = std::filesystem::file_size(blobs / (f.etag + ".incomplete"));
    EXPECT_GT(kept, 0u);
    EXPECT_LT(kept, 100'000u);
    EXPECT_NE(stopped.error().message().find("stopped at " + std::to_string(kept) + " of 300000 bytes"), std::string::npos)
        << stopped.error().message();
    EXPECT_FALSE(std::filesystem::exists(blobs / f.etag));

    Result<PulledRepo> resumed = pull(HubClient(settings()), spec("org/gguf-model"), "main", {});
    ASSERT_TRUE(resumed.ok()) << resumed.error().message();
    EXPECT_EQ(read(resumed.value().model_path()), f.bytes);
    std::lock_guard lock(hub_.seen_mutex);
    ASSERT_FALSE(hub_.cdn_ranges.empty());
    EXPECT_EQ(hub_.cdn_ranges.back(), "bytes=" + std::to_string(kept) + "-");
}

TEST_F(Pull, RefusalsAreOneClearLine) {
    auto message = [&](const std::string& what, const HubSettings& s, const std::string& revision = "main") {
        Result<PulledRepo> r = pull(HubClient(s), spec(what), revision, {});
        EXPECT_FALSE(r.ok()) << what;
        return r.ok() ? std::string() : r.error().message();
    };
    EXPECT_NE(message("org/private", settings()).find("needs HF_TOKEN"), std::string::npos);
    EXPECT_TRUE(pull(HubClient(settings("secret-token")), spec("org/private"), "main", {}).ok());
    EXPECT_NE(message("org/missing", settings()).find("was not found (HTTP 404)"), std::string::npos);
    EXPECT_NE(message("org/gguf-model", settings(), "v9").find("revision 'v9' was not found"), std::string::npos);
    EXPECT_NE(message("org/two-ggufs", settings()).find("has 2 GGUF files"), std::string::npos);
    EXPECT_NE(message("org/gguf-model:*.safetensors", settings()).find("no file of org/gguf-model matches"), std::string::npos);
    HubSettings unreachable = settings();
    unreachable.endpoint = "http://127.0.0.1:1";
    EXPECT_NE(message("org/gguf-model", unreachable).find("could not connect"), std::string::npos);
}

TEST_F(Pull, CommandLinePullThenRunFromTheCache) {
    const std::string env = "HF_ENDPOINT=" + hub_.endpoint() + " HF_HOME=" + (dir_ / "home").string() + " HF_TOKEN= ";
    // The shipped model, served by the fake Hub, is what `-m org/...` then runs.
    const TernRun pulled = run_tern("pull org/gguf-model:model-q8.gguf", env);
    ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
    EXPECT_NE(pulled.out.find("snapshots/" + std::string(kCommit) + "/model-q8.gguf"), std::string::npos) << pulled.out;
    EXPECT_NE(pulled.err.find("1 file (1 downloaded, 0 already cached)"), std::string::npos) << pulled.err;
    const std::string run_args = " -p 'Once upon a time' -n 12 --temp 0 -t 1";
    const TernRun from_hub = run_tern("run -m org/tinystories" + run_args, env);
    ASSERT_EQ(from_hub.exit_code, 0) << from_hub.err;
    const TernRun local = run_tern("run -m " + kShippedModel.string() + run_args);
    ASSERT_EQ(local.exit_code, 0) << local.err;
    EXPECT_EQ(from_hub.out, local.out);
    EXPECT_TRUE(std::filesystem::is_symlink(dir_ / "home" / "hub" / "models--org--tinystories" / "snapshots" / kCommit /
                                            "tinystories-bitnet.gguf"));
    const TernRun bad = run_tern("pull not-a-repo", env);
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("'not-a-repo' is not a Hub repository: expected ORG/NAME[:FILE]"), std::string::npos) << bad.err;
    const TernRun offline = run_tern("tokenize -m org/never-pulled x", env + "HF_HUB_OFFLINE=1 ");
    EXPECT_EQ(offline.exit_code, 1);
    EXPECT_NE(offline.err.find("org/never-pulled is not in the cache and HF_HUB_OFFLINE is set"), std::string::npos) << offline.err;
}

// Sets environment variables for one test and puts the old values back.
class ScopedEnvironment {
public:
    void set(const char* name, const std::string& value) {
        remember(name);
        ::setenv(name, value.c_str(), 1);
    }
    void unset(const char* name) {
        remember(name);
        ::unsetenv(name);
    }
    ~ScopedEnvironment() {
        for (const auto& [name, value] : saved_)
            value ? ::setenv(name.c_str(), value->c_str(), 1) : ::unsetenv(name.c_str());
    }

private:
    void remember(const char* name) {
        const char* old = std::getenv(name);
        saved_.emplace_back(name, old != nullptr ? std::optional<std::string>(old) : std::nullopt);
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(Pull, TheLibraryLoadsAHubNameThroughTheSharedCache) {
    ScopedEnvironment env;
    env.set("HF_ENDPOINT", hub_.endpoint());
    env.set("HF_HOME", (dir_ / "home").string());
    for (const char* name : {"HF_HUB_CACHE", "HF_TOKEN", "HF_HUB_OFFLINE"}) env.unset(name);
    // A set cancel flag stops the download before it is done; the load fails on one line.
    const std::atomic<bool> cancel{true};
    Result<tern::Model> cancelled = tern::Model::load("org/tinystories", {.threads = 1, .cancel = &cancel});
    ASSERT_FALSE(cancelled.ok());
    EXPECT_NE(cancelled.error().message().find("the download was stopped at "), std::string::npos) << cancelled.error().message();

    std::vector<uint64_t> reported;
    const tern::LoadOptions options{.threads = 1, .on_download = [&](std::string_view file, uint64_t done, uint64_t total) {
        EXPECT_EQ(file, "tinystories-bitnet.gguf");
        EXPECT_EQ(total, std::filesystem::file_size(kShippedModel));
        reported.push_back(done);
    }};
    Result<tern::Model> from_hub = tern::Model::load("org/tinystories", options);
    ASSERT_TRUE(from_hub.ok()) << from_hub.error().message();
    const auto cached = dir_ / "home" / "hub" / "models--org--tinystories" / "snapshots" / kCommit / "tinystories-bitnet.gguf";
    EXPECT_EQ(from_hub.value().info().path, cached.string());
    ASSERT_FALSE(reported.empty());
    EXPECT_EQ(reported.back(), std::filesystem::file_size(kShippedModel));

    Result<tern::Model> local = tern::Model::load(kShippedModel.string(), {.threads = 1});
    ASSERT_TRUE(local.ok()) << local.error().message();
    const tern::GenerateOptions greedy{.max_tokens = 12, .sampling = {.temperature = 0}};
    EXPECT_EQ(from_hub.value().generate("Once upon a time", greedy).value().text,
              local.value().generate("Once upon a time", greedy).value().text);

    // Again, and offline: the cache alone, no request.
    env.set("HF_HUB_OFFLINE", "1");
    const int requests = hub_.cdn_requests;
    Result<tern::Model> again = tern::Model::load("org/tinystories", {.threads = 1});
    ASSERT_TRUE(again.ok()) << again.error().message();
    EXPECT_EQ(hub_.cdn_requests, requests);
    Result<tern::Model> never = tern::Model::load("org/never-pulled", {.threads = 1});
    ASSERT_FALSE(never.ok());
    EXPECT_NE(never.error().message().find("org/never-pulled is not in the cache and HF_HUB_OFFLINE is set"),
              std::string::npos) << never.error().message();
    env.unset("HF_HUB_OFFLINE");
    Result<tern::Model> unknown_revision = tern::Model::load("org/tinystories", {.threads = 1, .revision = "v9"});
    ASSERT_FALSE(unknown_revision.ok());
    EXPECT_NE(unknown_revision.error().message().find("404"), std::string::npos) << unknown_revision.error().message();
}

// tern::pull, the library's `tern pull`: the same cache, progress and a wait for another
// process reported through the public callbacks, one-line refusals.
TEST_F(Pull, TheLibraryPullsIntoTheSharedCache) {
    ScopedEnvironment env;
    env.set("HF_ENDPOINT", hub_.endpoint());
    env.set("HF_HOME", (dir_ / "home").string());
    for (const char* name : {"HF_HUB_CACHE", "HF_TOKEN", "HF_HUB_OFFLINE"}) env.unset(name);
    const HubFile& f = hub_.file("org/gguf-model", "model-q8.gguf");
    const std::filesystem::path root = dir_ / "home" / "hub" / "models--org--gguf-model";
    std::optional<DownloadLock> other =
        DownloadLock::acquire(dir_ / "home" / "hub" / ".locks" / "models--org--gguf-model" / (f.etag + ".lock"), {}).value();
    std::atomic<bool> waited{false};
    std::vector<uint64_t> reported;
    Result<tern::PulledModel> pulled = Error("not run");
    std::thread puller([&] {
        pulled = tern::pull("org/gguf-model", {.revision = "main",
                                               .on_download = [&](std::string_view, uint64_t done, uint64_t) { reported.push_back(done); },
                                               .on_wait = [&](std::string_view file) {
                                                   EXPECT_EQ(file, "model-q8.gguf");
                                                   waited = true;
                                               },
                                               .cancel = nullptr});
    });
    for (int i = 0; i < 1000 && !waited; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(waited);
    other.reset();   // the other process gives up: this one downloads the blob itself
    puller.join();
    ASSERT_TRUE(pulled.ok()) << pulled.error().message();
    EXPECT_EQ(pulled.value().path, (root / "snapshots" / kCommit / "model-q8.gguf").string());
    EXPECT_EQ(pulled.value().commit, kCommit);
    EXPECT_EQ(pulled.value().files, std::vector<std::string>{"model-q8.gguf"});
    EXPECT_EQ(pulled.value().downloaded, 1u);
    ASSERT_FALSE(reported.empty());
    EXPECT_EQ(reported.back(), f.bytes.size());
    EXPECT_EQ(read(pulled.value().path), f.bytes);
    EXPECT_EQ(tern::pull("org/gguf-model").value().downloaded, 0u);   // cached now
    Result<tern::PulledModel> bad = tern::pull("not a repo");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace tern::hub
