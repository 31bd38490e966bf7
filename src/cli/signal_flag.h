// Installs a handler for a signal (SA_RESTART, nothing masked). The handlers the commands
// install only set a volatile sig_atomic_t flag that their main loop polls: a signal
// handler can do nothing else safely.
#pragma once

namespace tern::cli {

void install_signal_handler(int signal, void (*handler)(int));

}  // namespace tern::cli
