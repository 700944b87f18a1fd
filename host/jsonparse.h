/* jsonparse: the one decoder of JSON events. It decodes the body bytes straight to Python
 * objects with the results and the errors of `simplejson.loads(body)` (simplejson 3.20.1
 * with its C scanner, what awslambdaric 4.0.1 runs), on the same CPython:
 * - values: dict (the last duplicate key wins), list, str, int (exact, and subject to
 *   sys.get_int_max_str_digits as int() is), float (correctly rounded; 1e400 is inf),
 *   True, False, None. NaN, Infinity and -Infinity are not JSON and are rejected
 *   (simplejson's loads default since 3.19). A lone surrogate escape ("\ud800") stays a
 *   lone surrogate in the str.
 * - before scanning: the whole body must be valid UTF-8, so an invalid byte anywhere is
 *   the error reported; then one leading U+FEFF (or its mis-decoded "\xef\xbb\xbf") is
 *   skipped, and positions count it.
 * - errors: the first one met while scanning from the left, as simplejson's scanner meets
 *   it, with simplejson's message and position in characters ("Expecting value: line 1
 *   column 7 (char 6)"), or the exception CPython itself raises there (the int digit limit,
 *   RecursionError on nesting deeper than the recursion limit allows, MemoryError).
 * It skips simplejson's copy of the whole body into a str and its per-character reads. */
#ifndef HOST_JSONPARSE_H
#define HOST_JSONPARSE_H

#include <Python.h>
#include <stddef.h>

/* New reference to the decoded document, or NULL with an exception set whose str() is
 * simplejson's message: ValueError for syntax errors and the int digit limit,
 * UnicodeDecodeError, RecursionError or MemoryError. */
PyObject *jsonparse(const char *data, size_t len);

#endif
