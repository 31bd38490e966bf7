// The chat page's files (src/server/webui), embedded in the binary at build time.
#pragma once

#include <span>
#include <string_view>

namespace tern::server {

struct WebAsset {
    std::string_view name;          // file name in src/server/webui, e.g. "chat.js"
    std::string_view content_type;
    std::string_view body;
};

std::span<const WebAsset> web_ui_assets();

}  // namespace tern::server
