// SPDX-License-Identifier: Apache-2.0
// examples/demo/shutdown.h: waiting for SIGINT / SIGTERM in a demo service.
//
//   int main() {
//     demo::BlockShutdownSignals();          // before any thread starts
//     StartServing();
//     demo::WaitForShutdownSignal();         // Ctrl-C, docker stop, kill
//     StopServing();
//   }

#ifndef CTX_EXAMPLES_DEMO_SHUTDOWN_H_
#define CTX_EXAMPLES_DEMO_SHUTDOWN_H_

namespace demo {

// BlockShutdownSignals blocks SIGINT and SIGTERM in the calling thread; threads
// it starts afterwards inherit the mask, so the signals stay pending until
// WaitForShutdownSignal takes them. Call it first in main.
void BlockShutdownSignals();

// WaitForShutdownSignal blocks until SIGINT or SIGTERM arrives and returns its
// name ("SIGINT", "SIGTERM").
const char* WaitForShutdownSignal();

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_SHUTDOWN_H_
