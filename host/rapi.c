/* rapi: the Lambda Runtime API client (libcurl), and the reading of next's headers. */
#include "rapi.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

long long rapi_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t collect_body(char *p, size_t size, size_t n, void *userdata)
{
    buf_t *b = userdata;
    return buf_append(b, p, size * n) < 0 ? 0 : size * n;
}

static struct curl_slist *append(struct curl_slist *list, const char *line);

static void headers_reset(rapi_headers *h)
{
    buf_reset(&h->request_id);
    buf_reset(&h->deadline_ms);
    buf_reset(&h->function_arn);
    buf_reset(&h->trace_id);
    buf_reset(&h->client_context);
    buf_reset(&h->cognito_identity);
    buf_reset(&h->tenant_id);
    buf_reset(&h->invocation_id);
    buf_reset(&h->content_type);
    h->has_content_type = 0;
    h->complete = 0;
}

static void headers_free(rapi_headers *h)
{
    buf_free(&h->request_id);
    buf_free(&h->deadline_ms);
    buf_free(&h->function_arn);
    buf_free(&h->trace_id);
    buf_free(&h->client_context);
    buf_free(&h->cognito_identity);
    buf_free(&h->tenant_id);
    buf_free(&h->invocation_id);
    buf_free(&h->content_type);
}

static buf_t *header_slot(rapi_headers *h, const char *name, size_t len)
{
#define IS(lit) (len == sizeof(lit) - 1 && strncasecmp(name, lit, len) == 0)
    if (IS("lambda-runtime-aws-request-id")) return &h->request_id;
    if (IS("lambda-runtime-deadline-ms")) return &h->deadline_ms;
    if (IS("lambda-runtime-invoked-function-arn")) return &h->function_arn;
    if (IS("lambda-runtime-trace-id")) return &h->trace_id;
    if (IS("lambda-runtime-client-context")) return &h->client_context;
    if (IS("lambda-runtime-cognito-identity")) return &h->cognito_identity;
    if (IS("lambda-runtime-aws-tenant-id")) return &h->tenant_id;
    if (IS("lambda-runtime-invocation-id")) return &h->invocation_id;
    if (IS("content-type")) {
        h->has_content_type = 1;
        return &h->content_type;
    }
#undef IS
    return NULL;
}

int rapi_headers_feed(rapi_headers *h, const char *line, size_t len)
{
    if ((len == 2 && line[0] == '\r' && line[1] == '\n') || (len == 1 && line[0] == '\n')) {
        h->complete = 1;
        return 0;
    }
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        headers_reset(h);
        return 0;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return 0;
    buf_t *slot = header_slot(h, line, (size_t)(colon - line));
    if (!slot)
        return 0;
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    buf_reset(slot);
    return buf_append(slot, v, (size_t)(end - v));
}

void rapi_headers_free(rapi_headers *h)
{
    headers_free(h);
}

long long rapi_deadline_ms(const rapi_headers *h)
{
    const buf_t *v = &h->deadline_ms;
    long long ms = 0;
    for (size_t i = 0; i < v->len; i++) {
        int digit = v->data[i] - '0';
        if (digit < 0 || digit > 9)
            return 0;
        ms = ms > (LLONG_MAX - digit) / 10 ? LLONG_MAX : ms * 10 + digit;
    }
    return ms;
}

/* The headers of answers to POSTs carry nothing host needs. */
static size_t ignore_header(char *line, size_t size, size_t n, void *userdata)
{
    (void)line;
    (void)userdata;
    return size * n;
}

/* libcurl's header callback: one header line per call. */
static size_t collect_header(char *line, size_t size, size_t n, void *userdata)
{
    return rapi_headers_feed(userdata, line, size * n) < 0 ? 0 : size * n;
}

#define RUNTIME_PATH "/2018-06-01/runtime"

int rapi_init(rapi_client *c, const char *endpoint, const char *user_agent)
{
    memset(c, 0, sizeof *c);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    c->wake_fd = -1;
    c->curl = curl_easy_init();
    c->multi = curl_multi_init();
    c->api = curl_url();
    buf_t b = BUF_INIT;
    if (!c->curl || !c->multi || !c->api || buf_printf(&b, "http://%s/", endpoint) < 0)
        goto fail;
    CURLUcode uc = curl_url_set(c->api, CURLUPART_URL, b.data, 0);
    if (uc == CURLUE_OUT_OF_MEMORY)
        goto fail;
    c->bad_endpoint = uc != CURLUE_OK;
    buf_reset(&b);
    /* The User-Agent goes in the header lists, formatted once: as CURLOPT_USERAGENT
     * libcurl would format it again for every request (a tenth of its work per call). */
    if (buf_printf(&b, "User-Agent: %s", user_agent) < 0)
        goto fail;
    c->user_agent_line = b.data;
    b = (buf_t)BUF_INIT;
    c->next_headers = append(NULL, c->user_agent_line);
    c->json_post = append(NULL, c->user_agent_line);
    if (c->json_post)
        c->json_post = append(c->json_post, "Content-Type: application/json");
    if (c->json_post)
        c->json_post = append(c->json_post, "Expect:");
    if (!c->json_post || !c->next_headers)
        goto fail;

    CURL *k = c->curl;
    curl_easy_setopt(k, CURLOPT_CURLU, c->api);
    curl_easy_setopt(k, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(k, CURLOPT_TIMEOUT, 0L);          /* next is a long poll */
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, 1L);
    curl_easy_setopt(k, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_PROXY, "");            /* http_proxy must not apply */
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, &c->hdr);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, collect_body);
    return 0;
fail:
    buf_free(&b);
    rapi_free(c);
    return -1;
}

void rapi_free(rapi_client *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    curl_url_cleanup(c->api);
    curl_slist_free_all(c->json_post);
    curl_slist_free_all(c->next_headers);
    free(c->user_agent_line);
    buf_free(&c->path);
    buf_free(&c->body);
    buf_free(&c->reply);
    headers_free(&c->hdr);
    memset(c, 0, sizeof *c);
}

void rapi_set_wake(rapi_client *c, int fd, rapi_wake_fn wake, void *ctx)
{
    c->wake_fd = fd;
    c->wake = wake;
    c->wake_ctx = ctx;
}

/* curl_easy_perform, but the wait also watches wake_fd: a SIGTERM handler must be able
 * to run while next is parked for hours (the python3.12+ runtime's behaviour). */
static CURLcode perform_watching(rapi_client *c, CURL *k, int *interrupted)
{
    CURLMcode mc = curl_multi_add_handle(c->multi, k);
    if (mc != CURLM_OK)
        return CURLE_FAILED_INIT;
    int running = 1;
    while (running) {
        if ((mc = curl_multi_perform(c->multi, &running)) != CURLM_OK || !running)
            break;
        struct curl_waitfd extra = {c->wake_fd, CURL_WAIT_POLLIN, 0};
        int use_fd = c->wake_fd >= 0;
        if ((mc = curl_multi_poll(c->multi, use_fd ? &extra : NULL, use_fd ? 1 : 0, 3600000,
                                  NULL)) != CURLM_OK)
            break;
        if (use_fd && (extra.revents & CURL_WAIT_POLLIN) && c->wake(c->wake_ctx) < 0) {
            *interrupted = 1;
            break;
        }
    }
    CURLcode rc = mc == CURLM_OK ? CURLE_OK : CURLE_FAILED_INIT;
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(c->multi, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == k)
            rc = msg->data.result;
    if (running && !*interrupted && rc == CURLE_OK)
        rc = CURLE_RECV_ERROR;
    curl_multi_remove_handle(c->multi, k);
    return rc;
}

/* One request for path on easy handle k (c->curl, or a stream's own handle): both read
 * the origin and path from c->api. */
static rapi_status perform_on(rapi_client *c, CURL *k, const char *path)
{
    c->errbuf[0] = '\0';
    c->status = 0;
    CURLUcode uc = c->bad_endpoint ? CURLUE_OK : curl_url_set(c->api, CURLUPART_PATH, path, 0);
    if (c->bad_endpoint || uc != CURLUE_OK) {
        snprintf(c->errbuf, sizeof c->errbuf, "%s", curl_easy_strerror(
            uc == CURLUE_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_URL_MALFORMAT));
        return RAPI_TRANSPORT_ERROR;
    }
    int interrupted = 0;
    CURLcode rc = perform_watching(c, k, &interrupted);
    if (interrupted)
        return RAPI_INTERRUPTED;
    if (rc != CURLE_OK) {
        if (!c->errbuf[0])
            snprintf(c->errbuf, sizeof c->errbuf, "%s", curl_easy_strerror(rc));
        return RAPI_TRANSPORT_ERROR;
    }
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &c->status);
    return c->status >= 200 && c->status < 300 ? RAPI_OK : RAPI_HTTP_ERROR;
}

static rapi_status perform(rapi_client *c, const char *path)
{
    return perform_on(c, c->curl, path);
}

rapi_status rapi_next(rapi_client *c)
{
    headers_reset(&c->hdr);
    buf_reset(&c->body);
    CURL *k = c->curl;
    curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, c->next_headers);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &c->body);
    rapi_status st = perform(c, RUNTIME_PATH "/invocation/next");
    /* libcurl takes a close before the blank line as the end of a body-less answer; a
     * reply cut off there is a lost connection, retried as one, never an invocation. */
    if ((st == RAPI_OK || st == RAPI_HTTP_ERROR) && !c->hdr.complete) {
        snprintf(c->errbuf, sizeof c->errbuf,
                 "the connection closed before the end of the reply's headers");
        return RAPI_TRANSPORT_ERROR;
    }
    if (st == RAPI_OK && c->hdr.request_id.len == 0)
        return RAPI_NO_REQUEST_ID;
    return st;
}

static int unreserved(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* The request id as one path segment: anything outside the unreserved set is %-escaped,
 * and so are the dots of an id "." or "..", which libcurl (and any server) would take as
 * a dot segment and remove with the segment before it. A UUID is all unreserved, so its
 * URL is the id as is, appended in one piece into a buffer kept from the last call. */
static int append_segment(buf_t *url, const buf_t *id)
{
    static const char hex[] = "0123456789ABCDEF";
    /* "." and "..": nothing is copied as is, every dot escaped */
    int dot_segment = (id->len == 1 || id->len == 2) && memcmp(id->data, "..", id->len) == 0;
    size_t i = 0;
    while (i < id->len) {
        size_t run = i;
        while (!dot_segment && run < id->len && unreserved((unsigned char)id->data[run]))
            run++;
        if (buf_append(url, id->data + i, run - i) < 0)
            return -1;
        if (run == id->len)
            break;
        unsigned char ch = (unsigned char)id->data[run];
        char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        if (buf_append(url, esc, 3) < 0)
            return -1;
        i = run + 1;
    }
    return 0;
}

/* c->path = the path of the current invocation's `what` (response, error). */
static int path_for(rapi_client *c, const char *what)
{
    buf_reset(&c->path);
    if (buf_append_str(&c->path, RUNTIME_PATH "/invocation/") < 0 ||
        append_segment(&c->path, &c->hdr.request_id) < 0 || buf_append_char(&c->path, '/') < 0)
        return -1;
    return buf_append_str(&c->path, what);
}

static rapi_status post(rapi_client *c, const char *path, const char *data, size_t len,
                        struct curl_slist *headers)
{
    buf_reset(&c->reply);
    CURL *k = c->curl;
    curl_easy_setopt(k, CURLOPT_POST, 1L);
    curl_easy_setopt(k, CURLOPT_POSTFIELDS, data ? data : "");
    curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, ignore_header);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &c->reply);
    return perform(c, path);
}

/* curl_slist_append that frees the whole list when it fails: one owner, one free. */
static struct curl_slist *append(struct curl_slist *list, const char *line)
{
    struct curl_slist *res = curl_slist_append(list, line);
    if (!res)
        curl_slist_free_all(list);
    return res;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value)
{
    buf_t line = BUF_INIT;
    struct curl_slist *res = NULL;
    if (buf_printf(&line, "%s: %s", name, value) == 0)
        res = append(list, line.data);
    else
        curl_slist_free_all(list);
    buf_free(&line);
    return res;
}

/* Headers of a POST for the current invocation; NULL when out of memory. */
static struct curl_slist *invocation_headers(rapi_client *c, const char *content_type,
                                             const char *xray_cause)
{
    struct curl_slist *h = append(NULL, c->user_agent_line);
    if (h)
        h = add_header(h, "Content-Type", content_type);
    if (h)
        h = append(h, "Expect:");
    if (h && c->hdr.invocation_id.len)
        h = add_header(h, "Lambda-Runtime-Invocation-Id", c->hdr.invocation_id.data);
    if (h && xray_cause && *xray_cause)
        h = add_header(h, "Lambda-Runtime-Function-XRay-Error-Cause", xray_cause);
    return h;
}

static rapi_status post_invocation(rapi_client *c, const char *what, const char *data,
                                   size_t len, const char *content_type, const char *cause)
{
    if (path_for(c, what) < 0) {
        snprintf(c->errbuf, sizeof c->errbuf, "out of memory");
        return RAPI_TRANSPORT_ERROR;
    }
    /* The common case (JSON, no extra header) reuses one header list: no allocation. */
    int shared = strcmp(content_type, "application/json") == 0 && !c->hdr.invocation_id.len &&
                 !(cause && *cause);
    struct curl_slist *h = shared ? c->json_post : invocation_headers(c, content_type, cause);
    if (!h) {
        snprintf(c->errbuf, sizeof c->errbuf, "out of memory");
        return RAPI_TRANSPORT_ERROR;
    }
    rapi_status st = post(c, c->path.data, data, len, h);
    if (!shared) {
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(h);
    }
    return st;
}

rapi_status rapi_post_response(rapi_client *c, const char *data, size_t len,
                               const char *content_type)
{
    return post_invocation(c, "response", data, len, content_type, NULL);
}

rapi_status rapi_post_error(rapi_client *c, const char *body, size_t len, const char *xray_cause)
{
    return post_invocation(c, "error", body, len, "application/json", xray_cause);
}

rapi_status rapi_post_init_error(rapi_client *c, const char *error_type, const char *body,
                                 size_t len)
{
    /* As the official runtime's init/error: the error type header, no content type. */
    struct curl_slist *h = add_header(NULL, "Lambda-Runtime-Function-Error-Type", error_type);
    if (h)
        h = append(h, "Content-Type:");
    if (h)
        h = append(h, "Expect:");
    if (!h) {
        snprintf(c->errbuf, sizeof c->errbuf, "out of memory");
        return RAPI_TRANSPORT_ERROR;
    }
    rapi_status st = post(c, RUNTIME_PATH "/init/error", body, len, h);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    return st;
}

/* ---- a streamed response ------------------------------------------------------------- */

#define STREAM_MODE_HEADER "Lambda-Runtime-Function-Response-Mode: streaming"
#define STREAM_TRAILER_HEADER \
    "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"

typedef struct {
    rapi_pull_fn pull;
    rapi_trailers_fn trailers;
    void *ctx;
    const char *data; /* what is left of the chunk the last pull gave */
    size_t len;
    int ended;
} stream_feed;

/* libcurl's read callback: called when its upload buffer is empty, i.e. once everything it
 * was given before has been written to the socket. A chunk larger than the buffer is handed
 * over in pieces; the producer is resumed only when all of it has gone. */
static size_t feed_stream(char *dst, size_t size, size_t n, void *userdata)
{
    stream_feed *f = userdata;
    while (f->len == 0) {
        if (f->ended)
            return 0;
        int r = f->pull(f->ctx, &f->data, &f->len);
        if (r < 0)
            return CURL_READFUNC_ABORT;
        if (r == 0)
            f->ended = 1;
    }
    size_t k = size * n < f->len ? size * n : f->len;
    memcpy(dst, f->data, k);
    f->data += k;
    f->len -= k;
    return k;
}

static int send_trailers(struct curl_slist **list, void *userdata)
{
    stream_feed *f = userdata;
    const char *type = NULL, *body = NULL;
    if (!f->trailers(f->ctx, &type, &body))
        return CURL_TRAILERFUNC_OK;
    struct curl_slist *t = add_header(*list, "Lambda-Runtime-Function-Error-Type", type);
    if (t && body)
        t = add_header(t, "Lambda-Runtime-Function-Error-Body", body);
    *list = t;
    return t ? CURL_TRAILERFUNC_OK : CURL_TRAILERFUNC_ABORT;
}

static struct curl_slist *stream_headers(rapi_client *c, const char *content_type)
{
    struct curl_slist *h = invocation_headers(c, content_type, NULL);
    if (h)
        h = append(h, STREAM_MODE_HEADER);
    if (h)
        h = append(h, "Transfer-Encoding: chunked");
    if (h)
        h = append(h, STREAM_TRAILER_HEADER);
    return h;
}

rapi_status rapi_post_stream(rapi_client *c, const char *content_type, rapi_pull_fn pull,
                             rapi_trailers_fn trailers, void *ctx)
{
    /* A handle of its own, a copy of the main one's settings: libcurl 7.88 keeps the trailer
     * state of a chunked upload in the handle once it is done (and would frame the next
     * stream's chunks wrongly), while a new handle starts clean. Both are driven by the one
     * multi handle, whose connection cache holds the keep-alive connection, so the stream
     * rides the same connection as next and the other posts. */
    CURL *k = curl_easy_duphandle(c->curl);
    struct curl_slist *h = !k || path_for(c, "response") < 0 ? NULL
                                                             : stream_headers(c, content_type);
    if (!h) {
        if (k)
            curl_easy_cleanup(k);
        snprintf(c->errbuf, sizeof c->errbuf, "out of memory");
        return RAPI_TRANSPORT_ERROR;
    }
    stream_feed f = {.pull = pull, .trailers = trailers, .ctx = ctx};
    buf_reset(&c->reply);
    /* c->api itself, whether or not this libcurl's duphandle copied it: perform_on sets the
     * path there. */
    curl_easy_setopt(k, CURLOPT_CURLU, c->api);
    curl_easy_setopt(k, CURLOPT_POST, 1L);
    curl_easy_setopt(k, CURLOPT_POSTFIELDS, NULL); /* the read callback supplies the body */
    curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(k, CURLOPT_READFUNCTION, feed_stream);
    curl_easy_setopt(k, CURLOPT_READDATA, &f);
    curl_easy_setopt(k, CURLOPT_TRAILERFUNCTION, send_trailers);
    curl_easy_setopt(k, CURLOPT_TRAILERDATA, &f);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, ignore_header);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &c->reply);
    rapi_status st = perform_on(c, k, c->path.data);
    curl_easy_cleanup(k);
    curl_slist_free_all(h);
    return st;
}
