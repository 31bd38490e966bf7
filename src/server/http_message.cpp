#include "server/http_message.h"

#include <algorithm>
#include <cctype>

namespace tern::server {

namespace {

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

std::string_view find_header(const HttpHeaders& headers, std::string_view name) {
    for (const auto& [key, value] : headers)
        if (same_name(key, name)) return value;
    return {};
}

void ClientPresence::on_gone(std::function<void()> on_gone) {
    std::unique_lock lock(mutex_);
    if (!gone_) {
        on_gone_ = std::move(on_gone);
        return;
    }
    lock.unlock();
    on_gone();
}

void ClientPresence::mark_gone() {
    std::function<void()> run;
    {
        std::lock_guard lock(mutex_);
        if (gone_) return;
        gone_ = true;
        run = std::move(on_gone_);
    }
    if (run) run();
}

void HttpResponse::set_header(std::string name, std::string value) {
    for (auto& [key, existing] : headers)
        if (same_name(key, name)) {
            existing = std::move(value);
            return;
        }
    headers.emplace_back(std::move(name), std::move(value));
}

void HttpResponse::set_content(std::string content, std::string content_type) {
    body = std::move(content);
    set_header("Content-Type", std::move(content_type));
}

}  // namespace tern::server
