/* sam_http: what host local's libmicrohttpd servers share (the front server of start-api and
 * start-lambda, sam_server.c, and each worker's local Runtime API, sam_rapid.c): a request
 * whose body is gathered up to a limit, its release when libmicrohttpd is done with it, and
 * a reply from a buffer. */
#ifndef HOST_SAM_HTTP_H
#define HOST_SAM_HTTP_H

#include <microhttpd.h>
#include <stddef.h>

#include "buf.h"

typedef struct {
    char *raw_uri;  /* the request target as sent, before MHD decodes it; NULL if not kept */
    buf_t body;
    size_t limit;   /* the most body gathered */
    int too_big;    /* the body went past limit (or memory ran out): the rest was dropped */
} sam_request;

/* A zeroed request of size bytes (a server's own type, with a sam_request as its first
 * member), raw_uri copied when not NULL; NULL when out of memory. */
void *sam_request_new(size_t size, const char *raw_uri, size_t limit);

/* Takes the *data_size bytes of body libmicrohttpd handed over (and sets it to 0). */
void sam_request_gather(sam_request *q, const char *data, size_t *data_size);

/* The body, "" when there is none. Borrowed. */
const char *sam_request_body(const sam_request *q);

/* MHD_OPTION_NOTIFY_COMPLETED's callback: frees the request in *state. */
void sam_request_done(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode t);

/* A response with a copy of body and a Content-Type (none when type is NULL). */
enum MHD_Result sam_http_reply(struct MHD_Connection *c, unsigned status, const char *type,
                               const char *body, size_t len);

#endif
