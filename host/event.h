/* event: the invocation body -> the handler's `event` argument, as the official runtime
 * decodes it: JSON (CPython's C scanner) only when Content-Type is exactly
 * "application/json", the raw bytes otherwise. */
#ifndef HOST_EVENT_H
#define HOST_EVENT_H

#include <Python.h>
#include <stddef.h>

typedef struct {
    PyObject *make_scanner;  /* owned: builds the _json scanner, on the first fallback */
    PyObject *scan_once;     /* owned once built */
    PyObject *error_message; /* owned: (doc, pos, msg) -> str, for syntax errors */
} event_decoder;

/* Takes references to both callables of the Python half. The _json scanner is only
 * needed when the native parser gives up, so it is built then, not at start-up. */
int event_decoder_init(event_decoder *d, PyObject *make_scanner, PyObject *error_message);
void event_decoder_clear(event_decoder *d);

/* Returns 1 when the content type selects JSON decoding. */
int event_is_json(const char *content_type);

/* New reference to the event, or NULL with a Python exception whose str() is the
 * decoder's message ("Expecting value: line 1 column 1 (char 0)", "'utf-8' codec ..."). */
PyObject *event_decode(event_decoder *d, const char *body, size_t len, int is_json);

#endif
