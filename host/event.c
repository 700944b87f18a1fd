/* event: the handler's event from the invocation body and its content type. */
#include "event.h"

#include <string.h>

#include "jsonparse.h"

int event_is_json(const char *content_type)
{
    return content_type && strcmp(content_type, "application/json") == 0;
}

PyObject *event_decode(const char *body, size_t len, int is_json)
{
    if (!is_json)
        return PyBytes_FromStringAndSize(body, (Py_ssize_t)len);
    return jsonparse(body, len);
}
