/* event: the invocation body -> the handler's `event` argument, as the official runtime
 * decodes it: JSON (jsonparse, simplejson.loads's results and errors) only when
 * Content-Type is exactly "application/json", the raw bytes otherwise. */
#ifndef HOST_EVENT_H
#define HOST_EVENT_H

#include <Python.h>
#include <stddef.h>

/* Returns 1 when the content type selects JSON decoding. */
int event_is_json(const char *content_type);

/* New reference to the event, or NULL with a Python exception whose str() is the
 * decoder's message ("Expecting value: line 1 column 1 (char 0)", "'utf-8' codec ..."). */
PyObject *event_decode(const char *body, size_t len, int is_json);

#endif
