/* runtime: runtime mode, the bootstrap of a custom runtime. Init (handler import,
 * init/error on failure), then the loop: next -> invoke -> response or error. */
#ifndef HOST_RUNTIME_H
#define HOST_RUNTIME_H

#include "session.h"

/* Runs until a fatal Runtime API failure or a handler's SystemExit; returns the
 * process exit status. */
int runtime_main(const session_config *cfg);

#endif
