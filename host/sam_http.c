/* sam_http: the request and reply of host local's libmicrohttpd servers (see sam_http.h). */
#include "sam_http.h"

#include <stdlib.h>
#include <string.h>

void *sam_request_new(size_t size, const char *raw_uri, size_t limit)
{
    sam_request *q = calloc(1, size);
    if (!q)
        return NULL;
    q->limit = limit;
    if (raw_uri && !(q->raw_uri = strdup(raw_uri))) {
        free(q);
        return NULL;
    }
    return q;
}

void sam_request_gather(sam_request *q, const char *data, size_t *data_size)
{
    if (!q->too_big &&
        (q->body.len + *data_size > q->limit || buf_append(&q->body, data, *data_size) < 0))
        q->too_big = 1;
    *data_size = 0;
}

const char *sam_request_body(const sam_request *q)
{
    return q->body.data ? q->body.data : "";
}

void sam_request_done(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    sam_request *q = *state;
    if (q) {
        buf_free(&q->body);
        free(q->raw_uri);
        free(q);
    }
    *state = NULL;
}

enum MHD_Result sam_http_reply(struct MHD_Connection *c, unsigned status, const char *type,
                               const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}
