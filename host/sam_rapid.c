/* sam_rapid: the local Runtime API a worker process talks to (see sam_rapid.h). */
#include "sam_rapid.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "sam_b64.h"
#include "sam_http.h"

#define API_PREFIX "/2018-06-01/runtime/"
#define MAX_BODY (6 * 1024 * 1024 + 1024) /* Lambda's 6 MB response limit, and room for headers */

#define STREAMING_MODE "streaming"
#define ERROR_TYPE_TRAILER "Lambda-Runtime-Function-Error-Type"
#define ERROR_BODY_TRAILER "Lambda-Runtime-Function-Error-Body"

typedef struct {
    sam_request r;  /* first: sam_request_done frees it as one */
    int streaming;  /* a response POSTed in Response-Mode streaming: pieces go on at once */
    char rid[64];
} request;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    return sam_http_reply(c, status, "application/json", body, strlen(body));
}

static enum MHD_Result serve_next(sam_worker *w, struct MHD_Connection *c)
{
    sam_invocation *inv = NULL;
    char arn[512], deadline[32];
    if (sam_pool_next(w, &inv, arn, sizeof arn) < 0)
        return reply(c, 410, "{\"errorMessage\":\"this worker was retired\",\"errorType\":\"Gone\"}");
    struct MHD_Response *r = MHD_create_response_from_buffer(inv->event_len, (void *)inv->event,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    snprintf(deadline, sizeof deadline, "%.0f", inv->deadline_ms);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Lambda-Runtime-Aws-Request-Id", inv->request_id);
    MHD_add_response_header(r, "Lambda-Runtime-Deadline-Ms", deadline);
    MHD_add_response_header(r, "Lambda-Runtime-Invoked-Function-Arn", arn);
    MHD_add_response_header(r, "Lambda-Runtime-Trace-Id", inv->trace_id);
    if (inv->client_context)
        MHD_add_response_header(r, "Lambda-Runtime-Client-Context", inv->client_context);
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result serve_post(sam_worker *w, struct MHD_Connection *c, const char *path, request *q)
{
    const char *body = sam_request_body(&q->r);
    if (q->r.too_big)
        return reply(c, 413, "{\"errorMessage\":\"Exceeded maximum allowed payload size (6291556 bytes).\","
                             "\"errorType\":\"RequestEntityTooLarge\"}");
    if (strcmp(path, "init/error") == 0) {
        sam_pool_init_error(w, body, q->r.body.len);
        return reply(c, 202, "{\"status\":\"OK\"}");
    }
    const char *rest = path + strlen("invocation/");
    const char *slash = strchr(rest, '/');
    if (strncmp(path, "invocation/", 11) != 0 || !slash ||
        (strcmp(slash, "/response") != 0 && strcmp(slash, "/error") != 0))
        return reply(c, 404, "{\"errorMessage\":\"unknown path\",\"errorType\":\"InvalidRequest\"}");
    char rid[64];
    snprintf(rid, sizeof rid, "%.*s", (int)(slash - rest), rest);
    if (sam_pool_finish(w, rid, body, q->r.body.len, strcmp(slash, "/error") == 0) < 0)
        return reply(c, 400, "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}");
    return reply(c, 202, "{\"status\":\"OK\"}");
}

/* "invocation/{id}/response" -> id in rid; -1 for any other path. */
static int response_id(const char *url, char *rid, size_t len)
{
    const char *prefix = API_PREFIX "invocation/";
    if (strncmp(url, prefix, strlen(prefix)) != 0)
        return -1;
    const char *rest = url + strlen(prefix), *slash = strchr(rest, '/');
    if (!slash || strcmp(slash, "/response") != 0)
        return -1;
    snprintf(rid, len, "%.*s", (int)(slash - rest), rest);
    return 0;
}

/* A streamed response's first call: the headers are in, the body is not. */
static void open_stream(sam_worker *w, struct MHD_Connection *c, const char *url, request *q)
{
    const char *mode = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Lambda-Runtime-Function-Response-Mode");
    if (!mode || strcasecmp(mode, STREAMING_MODE) != 0 || response_id(url, q->rid, sizeof q->rid) < 0)
        return;
    q->streaming = 1;
    sam_pool_stream_begin(w, q->rid, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"));
}

/* The stream's end: its error trailer (base64 of the error document), if any, is the result. */
static enum MHD_Result close_stream(sam_worker *w, struct MHD_Connection *c, request *q)
{
    const char *type = MHD_lookup_connection_value(c, MHD_FOOTER_KIND, ERROR_TYPE_TRAILER);
    const char *body = MHD_lookup_connection_value(c, MHD_FOOTER_KIND, ERROR_BODY_TRAILER);
    buf_t doc = BUF_INIT;
    if (type && (!body || sam_b64_decode(&doc, body, strlen(body)) < 0 || doc.len == 0)) {
        buf_reset(&doc);
        buf_printf(&doc, "{\"errorMessage\":\"the stream failed\",\"errorType\":\"%s\"}", type);
    }
    int rc = sam_pool_finish(w, q->rid, doc.data ? doc.data : "", doc.len, type != NULL);
    buf_free(&doc);
    if (rc < 0)
        return reply(c, 400, "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}");
    return reply(c, 202, "{\"status\":\"OK\"}");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **state)
{
    (void)version;
    sam_worker *w = cls;
    request *q = *state;
    if (!q) {
        if (!(q = sam_request_new(sizeof *q, NULL, MAX_BODY)))
            return MHD_NO;
        *state = q;
        if (strcmp(method, "POST") == 0)
            open_stream(w, c, url, q);
        return MHD_YES;
    }
    if (*data_size > 0 && q->streaming) {
        sam_pool_stream_write(w, q->rid, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    if (q->streaming)
        return close_stream(w, c, q);
    if (*data_size > 0) {
        sam_request_gather(&q->r, data, data_size);
        return MHD_YES;
    }
    if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) != 0)
        return reply(c, 404, "{\"errorMessage\":\"unknown path\",\"errorType\":\"InvalidRequest\"}");
    const char *path = url + strlen(API_PREFIX);
    if (strcmp(method, "GET") == 0 && strcmp(path, "invocation/next") == 0)
        return serve_next(w, c);
    if (strcmp(method, "POST") == 0)
        return serve_post(w, c, path, q);
    return reply(c, 405, "{\"errorMessage\":\"method not allowed\",\"errorType\":\"InvalidRequest\"}");
}

struct MHD_Daemon *sam_rapid_start(sam_worker *w, int *port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, w,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, sam_request_done, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_END);
    if (!d)
        return NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    return d;
}
