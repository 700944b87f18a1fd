/* interp: starting and stopping the embedded CPython. */
#ifndef HOST_INTERP_H
#define HOST_INTERP_H

/* Starts CPython through PyConfig, checking every PyStatus. When the directory of
 * host's own executable holds lib/pythonX.Y/os.py (a Lambda layer: /opt/bootstrap next to
 * /opt/lib/pythonX.Y), that directory is the Python home, so nothing comes from a Python
 * installed on the machine. On failure prints why to stderr and returns -1. */
int interp_start(const char *argv0);

/* The Python home in use when relocated, or NULL (the build's own Python). */
const char *interp_home(void);

#endif
