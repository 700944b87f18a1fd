/* hostpy: the bytecode of host/py/ (*.py), linked into the binary (see scripts/embed_py.py). */
#ifndef HOST_HOSTPY_H
#define HOST_HOSTPY_H

#include <stddef.h>

typedef struct {
    const char *name;          /* module name, e.g. "hostrt_bootstrap"; NULL ends the table */
    const unsigned char *code; /* marshal.dumps(code object) */
    size_t len;
} hostpy_module;

extern const hostpy_module hostpy_modules[];

#endif
