#pragma once
// Ctrl-C for long measurements: the first SIGINT only raises a flag that the suites check
// between runs, so they stop cleanly and keep what was measured; a second one ends the process.
namespace kvscope {

void install_interrupt_handler();
bool interrupt_requested();
void request_interrupt();  // what SIGINT does; for tests
void clear_interrupt();

}  // namespace kvscope
