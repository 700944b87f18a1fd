/* marshaller: Python object -> JSON bytes, byte for byte as the official runtime's marshaller
 * in its python3.12+ mode: simplejson 3.20.1's C encoder with awslambdaric 4.0.1's options
 * (ensure_ascii off, use_decimal off with a default() for Decimal; allow_nan off, the
 * default since simplejson 3.19). ", " and ": " separators, insertion order (items() order
 * for dict subclasses), Decimal as its own digits, nested bytes and bytes keys decoded as
 * UTF-8, objects with a working _asdict() as objects, int/float/bool/None keys converted
 * to strings, int and float subclasses written as int(obj) and float(obj).
 *
 * marshal_dumps appends to `out` and returns 0, or returns -1 with a Python exception set
 * whose str() is the official message ("Object of type set is not JSON serializable",
 * "keys must be str, int, float, bool or None, not tuple", "Circular reference detected",
 * "Out of range float values are not JSON compliant", "items must return 2-tuples",
 * "_asdict() must return a dict, not list"). On failure `out` may hold a partial document.
 * tests/e2e/marshal_oracle.json records the official encoder's output for hostile values. */
#ifndef HOST_MARSHALLER_H
#define HOST_MARSHALLER_H

#include <Python.h>

#include "buf.h"

int marshal_dumps(PyObject *obj, buf_t *out);

#endif
