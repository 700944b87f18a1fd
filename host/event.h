/* event: the invocation body -> the handler's `event` argument, as the official runtime
 * decodes it: JSON (CPython's C scanner) only when Content-Type is exactly
 * "application/json", the raw bytes otherwise. */
#ifndef HOST_EVENT_H
#define HOST_EVENT_H

#include <Python.h>
#include <stddef.h>

typedef struct {
    PyObject *scan_once;     /* owned: _json scanner */
    PyObject *error_message; /* owned: (doc, pos, msg) -> str, for syntax errors */
} event_decoder;

/* Takes new references to both callables' sources from the Python half. -1 on error. */
int event_decoder_init(event_decoder *d, PyObject *make_scanner, PyObject *error_message);
void event_decoder_clear(event_decoder *d);

/* Returns 1 when the content type selects JSON decoding. */
int event_is_json(const char *content_type);

/* New reference to the event, or NULL with a Python exception whose str() is the
 * decoder's message ("Expecting value: line 1 column 1 (char 0)", "'utf-8' codec ..."). */
PyObject *event_decode(event_decoder *d, const char *body, size_t len, int is_json);

#endif
