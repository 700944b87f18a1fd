/* jsonparse: JSON bytes straight to Python objects (dict, list, str, int, float, bool,
 * None), with the results CPython's json.loads gives for the same document: NaN and
 * Infinity accepted, big ints exact, the last duplicate key wins, a leading UTF-8 BOM
 * skipped. It skips the copy of the whole body into a str and the scanner's per-character
 * reads of it.
 *
 * It handles valid documents only. On anything else (a syntax error, invalid UTF-8, a lone
 * surrogate escape, an int too long for int()) it gives up, and the caller decodes the same
 * bytes through CPython's own scanner, which words the error exactly. */
#ifndef HOST_JSONPARSE_H
#define HOST_JSONPARSE_H

#include <Python.h>
#include <stddef.h>

/* Returns a new reference to the value, or NULL (no exception set) when the caller
 * should decode through the fallback. */
PyObject *jsonparse(const char *data, size_t len);

#endif
