/* interp: starting and stopping the embedded CPython; the layer's relocatable home and
 * the python3 entry that sys.executable names. */
#ifndef HOST_INTERP_H
#define HOST_INTERP_H

#include <Python.h>
#include <stddef.h>

/* Starts CPython through PyConfig, checking every PyStatus, for host's own modes (runtime
 * and local): the Python home as interp_config_home sets it, and sys.executable as
 * interp_set_executable sets it. On failure prints why to stderr and returns -1. */
int interp_start(const char *argv0);

/* The one rule for where the standard library comes from: when the directory of host's
 * own executable (/proc/self/exe) holds lib/pythonX.Y/os.py (a Lambda layer: /opt/bootstrap
 * next to /opt/lib/pythonX.Y), that directory is the Python home (and platlibdir "lib"),
 * so nothing comes from a Python installed on the machine; otherwise config is left to
 * the build's own Python. Returns the first failed PyStatus, else PyStatus_Ok(). */
PyStatus interp_config_home(PyConfig *config);

/* The Python home in use when relocated, or NULL (the build's own Python). Valid after
 * interp_config_home. */
const char *interp_home(void);

/* Writes into out (size n) the python3 entry of this host binary: the first of
 * DIR/python3, DIR/bin/python3 and DIR/../lib/host/python3 (DIR: the directory of
 * /proc/self/exe) that is this very binary (same device and inode: a symlink or a hard
 * link to it; a python3 that is another program never counts). "" when there is none
 * (or the path does not fit). */
void interp_python_entry(char *out, size_t n);

/* Sets sys.executable and sys._base_executable to interp_python_entry's answer, so that
 * subprocess and multiprocessing start host as the interpreter (pymain). With no entry
 * both are "" (CPython's own value when it cannot name an interpreter): never host's own
 * path, which would start a second Lambda runtime, not a Python. -1 with a Python error. */
int interp_set_executable(void);

#endif
