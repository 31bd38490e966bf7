// The chat page of `tern serve`: GET / and its files under /webui/, served from the copies
// embedded in the binary. The page is public; the API it calls keeps its key.
#pragma once

#include "server/http_router.h"

namespace tern::server {

void install_web_ui(HttpRouter& router);

}  // namespace tern::server
