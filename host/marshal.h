/* marshal: Python object -> JSON bytes, byte-for-byte as the official runtime's
 * marshaller in its python3.12+ mode (simplejson, ensure_ascii off, allow_nan on):
 * ", " and ": " separators, insertion order, Decimal as its own digits, NaN/Infinity
 * as bare tokens, nested bytes decoded as UTF-8, objects with _asdict() as objects,
 * int/float/bool/None dict keys converted to strings.
 *
 * marshal_dumps appends to `out` and returns 0, or returns -1 with a Python
 * exception set whose str() is the official message ("Object of type set is not
 * JSON serializable", "keys must be str, int, float, bool or None, not tuple",
 * "Circular reference detected"). On failure `out` may hold a partial document. */
#ifndef HOST_MARSHAL_H
#define HOST_MARSHAL_H

#include <Python.h>

#include "buf.h"

int marshal_dumps(PyObject *obj, buf_t *out);

#endif
