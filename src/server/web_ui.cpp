#include "server/web_ui.h"

#include <string>

#include "server/web_ui_assets.h"

namespace tern::server {
namespace {

// Model output is untrusted: the page builds its DOM from text nodes only, and this policy
// forbids inline scripts, inline handlers and other origins besides, should that ever slip.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void serve_asset(const WebAsset& asset, HttpResponse& res) {
    res.set_content(std::string(asset.body), std::string(asset.content_type));
    res.set_header("Content-Security-Policy", kContentSecurityPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Cache-Control", "no-cache");
}

}  // namespace

void install_web_ui(HttpRouter& router) {
    for (const WebAsset& asset : web_ui_assets()) {
        const std::string path = asset.name == "index.html" ? "/" : "/webui/" + std::string(asset.name);
        router.add("GET", path, [&asset](HttpRequest&, HttpResponse& res) { serve_asset(asset, res); }, RouteCost::kQuick);
    }
}

}  // namespace tern::server
