/* sam_lambda_api: the Lambda Invoke API in front of the worker pools. */
#include "sam_lambda_api.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sam_b64.h"
#include "sam_http.h"
#include "sam_relay.h"

#define INVOKE_PREFIX "/2015-03-31/functions/"
#define INVOKE_SUFFIX "/invocations"
#define STREAM_PREFIX "/2021-11-15/functions/"
#define STREAM_SUFFIX "/response-streaming-invocations"
#define EVENT_STREAM_TYPE "application/vnd.amazon.eventstream"
#define TAIL_BYTES 4096 /* X-Amz-Log-Result: the last 4 KB of the log, as Lambda returns */

/* An AWS error as the SDKs parse it: X-Amzn-ErrorType and {"Type", "message"}. */
static enum MHD_Result aws_error(struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *message)
{
    json_t *doc = json_pack("{s:s, s:s}", "Type", "User", "message", message);
    char *text = doc ? json_dumps(doc, 0) : NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : "",
                                                             MHD_RESPMEM_MUST_COPY);
    free(text);
    json_decref(doc);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "X-Amzn-ErrorType", type);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* "Fn", "arn:aws:lambda:r:acct:function:Fn[:qualifier]" or "Fn:qualifier" -> Fn. */
static void function_id(const char *name, size_t n, char *id, size_t idlen, char *qual, size_t quallen)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%.*s", (int)n, name);
    char *p = strstr(copy, ":function:");
    p = p ? p + strlen(":function:") : copy;
    char *colon = strchr(p, ':');
    snprintf(qual, quallen, "%s", colon ? colon + 1 : "");
    if (colon)
        *colon = '\0';
    snprintf(id, idlen, "%s", p);
}

typedef struct {
    sam_pool *pool;
    sam_invocation inv;
    char *event;
    char *trace, *context;
} background;

static void *run_event(void *arg)
{
    background *b = arg;
    sam_pool_invoke(b->pool, &b->inv);
    sam_invocation_free(&b->inv);
    free(b->event);
    free(b->trace);
    free(b->context);
    free(b);
    return NULL;
}

/* X-Amz-Client-Context is base64 JSON; the Runtime API passes the JSON. NULL if absent. */
static char *client_context(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Client-Context");
    buf_t b = BUF_INIT;
    if (!v || sam_b64_decode(&b, v, strlen(v)) < 0) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}

static enum MHD_Result invoke_async(struct MHD_Connection *c, sam_pool *pool, const char *body, size_t len)
{
    background *b = calloc(1, sizeof *b);
    pthread_t t;
    const char *trace = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-Trace-Id");
    if (!b || !(b->event = malloc(len + 1))) {
        free(b);
        return aws_error(c, 500, "ServiceException", "out of memory");
    }
    memcpy(b->event, body, len);
    b->event[len] = '\0';
    b->pool = pool;
    sam_invocation_init(&b->inv);
    b->inv.event = b->event;
    b->inv.event_len = len;
    b->trace = trace ? strdup(trace) : NULL;
    b->context = client_context(c);
    b->inv.trace_id = b->trace;
    b->inv.client_context = b->context;
    if (pthread_create(&t, NULL, run_event, b) != 0) {
        run_event(b);
        return aws_error(c, 500, "ServiceException", "cannot start the invocation");
    }
    pthread_detach(t);
    return sam_http_reply(c, 202, NULL, "", 0);
}

static enum MHD_Result invoke_sync(struct MHD_Connection *c, sam_pool *pool, const char *body, size_t len,
                                   int tail)
{
    sam_invocation inv;
    sam_invocation_init(&inv);
    char *context = client_context(c);
    inv.event = body;
    inv.event_len = len;
    inv.trace_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-Trace-Id");
    inv.client_context = context;
    inv.want_log = tail;
    sam_pool_invoke(pool, &inv);
    enum MHD_Result rc = MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(inv.result.len, inv.result.data ? inv.result.data : "",
                                                             MHD_RESPMEM_MUST_COPY);
    if (r) {
        MHD_add_response_header(r, "Content-Type", "application/json");
        MHD_add_response_header(r, "X-Amz-Executed-Version", "$LATEST");
        MHD_add_response_header(r, "X-Amzn-RequestId", inv.request_id);
        MHD_add_response_header(r, "X-Amzn-Trace-Id", inv.trace_id);
        if (inv.is_error)
            MHD_add_response_header(r, "X-Amz-Function-Error", "Unhandled");
        if (tail) {
            buf_t b64 = BUF_INIT;
            size_t from = inv.log.len > TAIL_BYTES ? inv.log.len - TAIL_BYTES : 0;
            sam_b64_encode(&b64, inv.log.data ? inv.log.data + from : "", inv.log.len - from);
            MHD_add_response_header(r, "X-Amz-Log-Result", b64.data ? b64.data : "");
            buf_free(&b64);
        }
        rc = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
    }
    free(context);
    sam_invocation_free(&inv);
    return rc;
}

/* InvokeWithResponseStream: the worker's chunks as PayloadChunk events, then InvokeComplete;
 * a function that does not stream sends its whole result as one chunk, as Lambda does. */
static enum MHD_Result invoke_stream(struct MHD_Connection *c, sam_pool *pool, const char *body, size_t len)
{
    char *event = malloc(len + 1);
    if (!event)
        return aws_error(c, 500, "ServiceException", "out of memory");
    memcpy(event, body, len);
    event[len] = '\0';
    sam_relay *relay = sam_relay_new(pool, event, len);
    if (!relay)
        return aws_error(c, 500, "ServiceException", "out of memory");
    char *context = client_context(c);
    relay->inv.trace_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-Trace-Id");
    relay->inv.client_context = context;
    sam_pool_invoke(pool, &relay->inv);
    relay->inv.client_context = NULL;
    free(context);
    if (!relay->inv.streaming && !relay->inv.is_error)
        buf_append(&relay->head, relay->inv.result.data ? relay->inv.result.data : "", relay->inv.result.len);
    char rid[40];
    snprintf(rid, sizeof rid, "%s", relay->inv.request_id);
    struct MHD_Response *r = sam_relay_response(relay, 1);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", EVENT_STREAM_TYPE);
    MHD_add_response_header(r, "X-Amz-Executed-Version", "$LATEST");
    MHD_add_response_header(r, "X-Amzn-RequestId", rid);
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return rc;
}

/* Where url names a function for one of the two APIs: the name's start and length. */
static int function_name(const char *url, const char *prefix, const char *suffix, const char **name, size_t *n)
{
    size_t ul = strlen(url), pl = strlen(prefix), sl = strlen(suffix);
    if (strncmp(url, prefix, pl) != 0 || ul <= pl + sl || strcmp(url + ul - sl, suffix) != 0)
        return -1;
    *name = url + pl;
    *n = ul - pl - sl;
    return 0;
}

enum MHD_Result sam_lambda_api_serve(sam_server *s, struct MHD_Connection *c, const char *url,
                                     const char *raw_uri, const char *method, const char *body,
                                     size_t len)
{
    (void)raw_uri;
    const char *name;
    size_t n;
    int streamed = function_name(url, STREAM_PREFIX, STREAM_SUFFIX, &name, &n) == 0;
    if (!streamed && function_name(url, INVOKE_PREFIX, INVOKE_SUFFIX, &name, &n) < 0)
        return aws_error(c, 404, "UnknownOperationException",
                         "host local start-lambda serves only POST /2015-03-31/functions/{name}/invocations "
                         "and POST /2021-11-15/functions/{name}/response-streaming-invocations");
    if (strcmp(method, "POST") != 0)
        return aws_error(c, 405, "UnknownOperationException", "Invoke is a POST");
    char id[512], qual[512], msg[1400];
    function_id(name, n, id, sizeof id, qual, sizeof qual);
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "Qualifier");
    if (q && !qual[0])
        snprintf(qual, sizeof qual, "%s", q);
    sam_pool *pool = sam_server_pool(s, id);
    if (!pool || (qual[0] && strcmp(qual, "$LATEST") != 0)) {
        snprintf(msg, sizeof msg, "Function not found: arn:aws:lambda:%s:123456789012:function:%s%s%s",
                 sam_env_region(&s->o->env), id, qual[0] ? ":" : "", qual);
        return aws_error(c, 404, "ResourceNotFoundException", msg);
    }
    if (len == 0) { /* no Payload: the SDKs send nothing, Lambda passes {} */
        body = "{}";
        len = 2;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!doc && json_error_code(&jerr) != json_error_null_byte_in_key &&
        json_error_code(&jerr) != json_error_numeric_overflow) {
        snprintf(msg, sizeof msg, "Could not parse request body into json: %s", jerr.text);
        return aws_error(c, 400, "InvalidRequestContentException", msg);
    }
    json_decref(doc);
    if (streamed)
        return invoke_stream(c, pool, body, len);
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Invocation-Type");
    const char *log = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Log-Type");
    if (!type || strcmp(type, "RequestResponse") == 0)
        return invoke_sync(c, pool, body, len, log && strcmp(log, "Tail") == 0);
    if (strcmp(type, "Event") == 0)
        return invoke_async(c, pool, body, len);
    if (strcmp(type, "DryRun") == 0)
        return sam_http_reply(c, 204, NULL, "", 0);
    snprintf(msg, sizeof msg, "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, not %s", type);
    return aws_error(c, 400, "InvalidParameterValueException", msg);
}
