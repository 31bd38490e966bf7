// The whole public API of tern: include this, link tern::tern (CMake) or `pkg-config tern`.
#pragma once

#include "tern/batcher.h"  // IWYU pragma: export
#include "tern/hub.h"      // IWYU pragma: export
#include "tern/model.h"    // IWYU pragma: export
#include "tern/status.h"   // IWYU pragma: export
#include "tern/system.h"   // IWYU pragma: export
#include "tern/tokenizer.h"  // IWYU pragma: export
#include "tern/version.h"  // IWYU pragma: export
