/* rapi: the Lambda Runtime API client. One libcurl easy handle, reused, so every
 * request rides one keep-alive connection; no total timeout (next is a long poll);
 * proxies ignored; HTTP/1.1 without 100-continue, chunked only for a streamed response. */
#ifndef HOST_RAPI_H
#define HOST_RAPI_H

#include <curl/curl.h>

#include "buf.h"

typedef enum {
    RAPI_OK = 0,          /* a 2xx answer */
    RAPI_HTTP_ERROR,      /* an answer with another status: see c->status, c->reply */
    RAPI_TRANSPORT_ERROR, /* no answer: refused, reset, closed mid-request or mid-reply
                           * (a next reply cut off in its headers or body); see c->errbuf */
    RAPI_NO_REQUEST_ID,   /* next answered 2xx without Lambda-Runtime-Aws-Request-Id */
    RAPI_INTERRUPTED,     /* the wake-up callback asked to stop waiting (a signal handler raised) */
} rapi_status;

/* Called, from inside a request, when the wake-up fd becomes readable (a signal arrived
 * while host waits for the Runtime API). Returns 0 to go on waiting, -1 to abandon the
 * request with RAPI_INTERRUPTED. */
typedef int (*rapi_wake_fn)(void *ctx);

/* Invocation headers of the last next; an empty value counts as absent. */
typedef struct {
    buf_t request_id, deadline_ms, function_arn, trace_id, client_context,
        cognito_identity, tenant_id, invocation_id, content_type;
    int has_content_type;
    int complete;         /* the blank line that ends the headers has arrived */
} rapi_headers;

typedef struct {
    CURL *curl;
    CURLM *multi;                  /* drives curl so that the wait can also watch wake_fd */
    int wake_fd;                   /* -1, or an fd whose readability means "run wake()" */
    rapi_wake_fn wake;
    void *wake_ctx;
    /* The Runtime API's origin, parsed once (CURLOPT_CURLU); each request sets only its
     * path. As a URL string libcurl would parse it and print it back on every request. */
    CURLU *api;
    int bad_endpoint;              /* the endpoint is no HOST:PORT: every request fails */
    buf_t path;                    /* scratch for POST paths */
    buf_t body;                    /* the event of the current invocation */
    buf_t reply;                   /* the body of the last answer to a POST */
    rapi_headers hdr;
    struct curl_slist *next_headers; /* User-Agent */
    struct curl_slist *json_post;  /* User-Agent, Content-Type: application/json, Expect: */
    char *user_agent_line;         /* "User-Agent: ..." */
    long status;                   /* HTTP status of the last answer */
    char errbuf[CURL_ERROR_SIZE];
} rapi_client;

/* Takes one raw header line ("Name: value\r\n") of a next answer: known names are
 * matched case-insensitively and their values trimmed; a status line ("HTTP/1.1 200 OK")
 * clears what an earlier answer (e.g. a 100 Continue) left; the empty line sets
 * h->complete. -1 when out of memory. */
int rapi_headers_feed(rapi_headers *h, const char *line, size_t len);
void rapi_headers_free(rapi_headers *h);

/* The deadline header as ms since the epoch: ASCII digits only (values come trimmed), a
 * number past LLONG_MAX read as LLONG_MAX; 0 when absent or not a plain decimal number
 * (a sign, inner spaces, trailing junk), so get_remaining_time_in_millis() gives 0. */
long long rapi_deadline_ms(const rapi_headers *h);

/* endpoint: AWS_LAMBDA_RUNTIME_API ("host:port"). -1 if libcurl cannot start; an endpoint
 * libcurl cannot parse is not an error here: every request then fails as a transport error
 * with libcurl's message, as a request to a bad URL would. */
int rapi_init(rapi_client *c, const char *endpoint, const char *user_agent);
void rapi_free(rapi_client *c);

/* Every wait for the Runtime API also watches fd; when it is readable wake(ctx) runs. */
void rapi_set_wake(rapi_client *c, int fd, rapi_wake_fn wake, void *ctx);

rapi_status rapi_next(rapi_client *c);
rapi_status rapi_post_response(rapi_client *c, const char *data, size_t len,
                               const char *content_type);
/* A streamed response's source (host/stream.h): pull gives the next chunk (1; the bytes stay
 * valid until the next call), the end (0) or asks to abort the request (-1); trailers, once
 * the end has come, gives the error trailers' values (1) or says there are none (0). */
typedef int (*rapi_pull_fn)(void *ctx, const char **data, size_t *len);
typedef int (*rapi_trailers_fn)(void *ctx, const char **error_type, const char **error_body);

/* One streaming POST of the response (runtime-api.md §3): chunked, with the Trailer header
 * announced. libcurl asks for each chunk from its read callback when its upload buffer has
 * gone out to the socket, so the producer is resumed only after the last chunk was sent. */
rapi_status rapi_post_stream(rapi_client *c, const char *content_type, rapi_pull_fn pull,
                             rapi_trailers_fn trailers, void *ctx);

/* xray_cause may be NULL; the header is then not sent. */
rapi_status rapi_post_error(rapi_client *c, const char *body, size_t len,
                            const char *xray_cause);
rapi_status rapi_post_init_error(rapi_client *c, const char *error_type, const char *body,
                                 size_t len);

/* Milliseconds since the epoch, for the "[ERROR] [<ms>] LAMBDA_RUNTIME" log lines. */
long long rapi_now_ms(void);

#endif
