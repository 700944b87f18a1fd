/* sam_apigw: API Gateway's request and response mapping for start-api (see sam_apigw.h). */
#include "sam_apigw.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "sam_b64.h"
#include "sam_http.h"
#include "sam_relay.h"

#define MAX_SEGMENTS 64
#define MAX_FIELDS 512 /* headers or query parameters of one request */
#define LOCAL_ACCOUNT_ID "123456789012"
#define LOCAL_API_ID "hostlocal1"

#define HTTP_INTEGRATION_TYPE "application/vnd.awslambda.http-integration-response"

static const char not_found_v2[] = "{\"message\":\"Not Found\"}";
static const char not_found_rest[] = "{\"message\":\"Missing Authentication Token\"}";

/* ---- routes ------------------------------------------------------------------------------ */

typedef struct {
    size_t fn;
    const sam_route *route;
    int score;
} match;

/* Path parameters captured by a match: names and values point into store. */
typedef struct {
    const char *names[MAX_SEGMENTS], *values[MAX_SEGMENTS];
    size_t n, used;
    char store[8192];
} captures;

static int capture(captures *c, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (c->n >= MAX_SEGMENTS || c->used + nlen + vlen + 2 > sizeof c->store)
        return -1;
    char *p = c->store + c->used;
    memcpy(p, name, nlen);
    p[nlen] = '\0';
    memcpy(p + nlen + 1, value, vlen);
    p[nlen + 1 + vlen] = '\0';
    c->names[c->n] = p;
    c->values[c->n++] = p + nlen + 1;
    c->used += nlen + vlen + 2;
    return 0;
}

/* How specifically path matches the route template, segment by segment (a literal 3,
 * {param} 2, {proxy+} 1, in base 4 so earlier segments weigh more); -1 if it does not. */
static int route_score(const char *tmpl, const char *path, captures *c)
{
    int score = 0;
    c->n = c->used = 0;
    const char *t = tmpl, *p = path;
    while (*t == '/' && *p == '/') {
        t++, p++;
        size_t tl = strcspn(t, "/"), pl = strcspn(p, "/");
        int param = tl >= 2 && t[0] == '{' && t[tl - 1] == '}';
        int greedy = param && tl >= 3 && t[tl - 2] == '+';
        if (greedy) /* the rest of the path, one segment or more */
            return *p && capture(c, t + 1, tl - 3, p, strlen(p)) == 0 ? score * 4 + 1 : -1;
        if (param) {
            if (pl == 0 || capture(c, t + 1, tl - 2, p, pl) < 0)
                return -1;
            score = score * 4 + 2;
        } else if (tl == pl && strncmp(t, p, tl) == 0) {
            score = score * 4 + 3;
        } else {
            return -1;
        }
        t += tl, p += pl;
    }
    return *t == '\0' && *p == '\0' ? score * 4 + 3 : -1;
}

/* The best route for the request; its path parameters in c. -1 when none matches. */
static int find_route(const sam_server *s, const char *method, const char *path, match *best, captures *c)
{
    best->score = -1;
    for (size_t i = 0; i < s->t.n; i++) {
        const sam_function *f = &s->t.fns[i];
        for (size_t j = 0; j < f->n_routes; j++) {
            const sam_route *r = &f->routes[j];
            int any = strcmp(r->method, "ANY") == 0;
            if (!any && strcasecmp(r->method, method) != 0)
                continue;
            int sc = r->path ? route_score(r->path, path, c) : 0;
            if (sc >= 0 && sc * 2 + !any > best->score) /* the method breaks ties */
                *best = (match){i, r, sc * 2 + !any};
        }
    }
    if (best->score < 0)
        return -1;
    if (best->route->path)
        route_score(best->route->path, path, c);
    else
        c->n = 0;
    return 0;
}

int sam_apigw_check_routes(sam_server *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->t.n; i++)
        n += s->t.fns[i].n_routes;
    if (n > 0)
        return 0;
    if (s->o->handler && s->t.n == 1) { /* --handler: every request, as HTTP API's $default */
        sam_function *f = &s->t.fns[0];
        if (!(f->routes = calloc(1, sizeof *f->routes)) || !(f->routes[0].method = strdup("ANY")))
            return -1;
        f->routes[0].kind = SAM_ROUTE_HTTP_API;
        f->routes[0].payload_v2 = 1;
        f->n_routes = 1;
        return 0;
    }
    fprintf(stderr, "host local: start-api: no function of the template has an Api or HttpApi event "
                    "(use start-lambda or invoke for the others)\n");
    return -1;
}

void sam_apigw_print_routes(const sam_server *s)
{
    for (size_t i = 0; i < s->t.n; i++)
        for (size_t j = 0; j < s->t.fns[i].n_routes; j++) {
            const sam_route *r = &s->t.fns[i].routes[j];
            fprintf(stderr, "  %-6s %-24s -> %s (%s)\n", r->method, r->path ? r->path : "$default", s->t.fns[i].id,
                    r->kind == SAM_ROUTE_FUNCTION_URL ? "function URL, payload 2.0"
                    : r->kind == SAM_ROUTE_REST_API ? "Api, payload 1.0"
                                                  : r->payload_v2 ? "HttpApi, payload 2.0" : "HttpApi, payload 1.0");
        }
}

/* ---- the event ------------------------------------------------------------------------- */

int sam_apigw_is_text(const char *type, const char *body, size_t len)
{
    if (!type || !*type) { /* no type: text when it is valid UTF-8 (what jansson can hold) */
        json_t *s = json_stringn(body, len);
        int ok = s != NULL;
        json_decref(s);
        return ok;
    }
    static const char *const text[] = {"text/", "application/json", "application/javascript",
                                       "application/xml", "application/x-www-form-urlencoded",
                                       "application/graphql", "+json", "+xml", NULL};
    for (int i = 0; text[i]; i++)
        if (strcasestr(type, text[i]))
            return 1;
    return 0;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* v2: names lower-cased, repeated headers joined by ",", Cookie split into cookies. */
static void headers_v2(json_t *ev, const char *const *h)
{
    json_t *headers = json_object(), *cookies = json_array();
    for (size_t i = 0; h[i]; i += 2) {
        char name[256];
        snprintf(name, sizeof name, "%s", h[i]);
        lower(name);
        if (strcmp(name, "cookie") == 0) {
            const char *p = h[i + 1];
            while (*p) {
                while (*p == ' ')
                    p++;
                size_t n = strcspn(p, ";");
                if (n)
                    json_array_append_new(cookies, json_stringn(p, n));
                p += n + (p[n] == ';');
            }
            continue;
        }
        json_t *old = json_object_get(headers, name);
        if (old) {
            buf_t b = BUF_INIT;
            buf_printf(&b, "%s,%s", json_string_value(old), h[i + 1]);
            json_object_set_new(headers, name, json_string(b.data));
            buf_free(&b);
        } else {
            json_object_set_new(headers, name, json_string(h[i + 1]));
        }
    }
    if (json_array_size(cookies))
        json_object_set_new(ev, "cookies", cookies);
    else
        json_decref(cookies);
    json_object_set_new(ev, "headers", headers);
}

/* v1: "headers" keeps the last value, "multiValueHeaders" all of them. */
static void pairs_v1(json_t *ev, const char *const *kv, const char *single, const char *multi)
{
    json_t *one = json_object(), *many = json_object();
    for (size_t i = 0; kv[i]; i += 2) {
        const char *v = kv[i + 1] ? kv[i + 1] : "";
        json_object_set_new(one, kv[i], json_string(v));
        json_t *list = json_object_get(many, kv[i]);
        if (!list)
            json_object_set_new(many, kv[i], list = json_array());
        json_array_append_new(list, json_string(v));
    }
    if (json_object_size(one)) {
        json_object_set_new(ev, single, one);
        json_object_set_new(ev, multi, many);
    } else {
        json_decref(one);
        json_decref(many);
        json_object_set_new(ev, single, json_null());
        json_object_set_new(ev, multi, json_null());
    }
}

static json_t *query_v2(const char *const *q)
{
    json_t *o = json_object();
    for (size_t i = 0; q[i]; i += 2) {
        const char *v = q[i + 1] ? q[i + 1] : "";
        json_t *old = json_object_get(o, q[i]);
        if (old) {
            buf_t b = BUF_INIT;
            buf_printf(&b, "%s,%s", json_string_value(old), v);
            json_object_set_new(o, q[i], json_string(b.data));
            buf_free(&b);
        } else {
            json_object_set_new(o, q[i], json_string(v));
        }
    }
    return o;
}

static json_t *params_of(const char *const *p)
{
    json_t *o = json_object();
    for (size_t i = 0; p[i]; i += 2)
        json_object_set_new(o, p[i], json_string(p[i + 1]));
    return o;
}

static const char *header(const char *const *h, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; h[i]; i += 2)
        if (strcasecmp(h[i], name) == 0)
            v = h[i + 1];
    return v;
}

static void set_body(json_t *ev, const sam_apigw_request *r)
{
    if (r->body_len == 0) {
        if (!r->v2)
            json_object_set_new(ev, "body", json_null());
        json_object_set_new(ev, "isBase64Encoded", json_false());
        return;
    }
    if (r->binary) {
        buf_t b = BUF_INIT;
        sam_b64_encode(&b, r->body, r->body_len);
        json_object_set_new(ev, "body", json_string(b.data ? b.data : ""));
        buf_free(&b);
    } else {
        json_object_set_new(ev, "body", json_stringn(r->body, r->body_len));
    }
    json_object_set_new(ev, "isBase64Encoded", json_boolean(r->binary));
}

static void clf_time(double epoch_ms, char *out, size_t len)
{
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%d/%b/%Y:%H:%M:%S +0000", &tm);
}

static json_t *event_v2(const sam_apigw_request *r, const char *route_key)
{
    char when[64];
    clf_time(r->epoch_ms, when, sizeof when);
    const char *host = header(r->headers, "host"), *ua = header(r->headers, "user-agent");
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "version", "2.0", "routeKey", route_key, "rawPath",
                           r->raw_path, "rawQueryString", r->raw_query ? r->raw_query : "");
    headers_v2(ev, r->headers);
    if (r->query[0])
        json_object_set_new(ev, "queryStringParameters", query_v2(r->query));
    json_t *http = json_pack("{s:s, s:s, s:s, s:s, s:s}", "method", r->method, "path", r->path, "protocol",
                             "HTTP/1.1", "sourceIp", r->source_ip, "userAgent", ua ? ua : "");
    json_t *ctx = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:I}", "accountId", LOCAL_ACCOUNT_ID,
                            "apiId", LOCAL_API_ID, "domainName", host ? host : "localhost", "domainPrefix",
                            "localhost", "http", http, "requestId", r->request_id, "routeKey", route_key,
                            "stage", "$default", "time", when, "timeEpoch", (json_int_t)r->epoch_ms);
    json_object_set_new(ev, "requestContext", ctx);
    if (r->params[0])
        json_object_set_new(ev, "pathParameters", params_of(r->params));
    set_body(ev, r);
    return ev;
}

static json_t *event_v1(const sam_apigw_request *r)
{
    char when[64], stage_path[4096];
    clf_time(r->epoch_ms, when, sizeof when);
    const char *host = header(r->headers, "host"), *ua = header(r->headers, "user-agent");
    const char *resource = r->route_path ? r->route_path : "/{proxy+}";
    snprintf(stage_path, sizeof stage_path, "/%s%s", r->stage, r->path);
    json_t *ev = json_pack("{s:s, s:s, s:s}", "version", "1.0", "resource", resource, "path", r->path);
    json_object_set_new(ev, "httpMethod", json_string(r->method));
    pairs_v1(ev, r->headers, "headers", "multiValueHeaders");
    pairs_v1(ev, r->query, "queryStringParameters", "multiValueQueryStringParameters");
    json_object_set_new(ev, "pathParameters", r->params[0] ? params_of(r->params) : json_null());
    json_object_set_new(ev, "stageVariables", json_null());
    json_t *identity = json_pack("{s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:n}", "sourceIp", r->source_ip, "userAgent",
                                 ua ? ua : "", "accessKey", "accountId", "caller", "cognitoIdentityId", "user",
                                 "userArn");
    json_t *ctx = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}",
                            "accountId", LOCAL_ACCOUNT_ID, "apiId", LOCAL_API_ID, "domainName",
                            host ? host : "localhost", "domainPrefix", "localhost", "extendedRequestId",
                            r->request_id, "httpMethod", r->method, "identity", identity, "path", stage_path,
                            "protocol", "HTTP/1.1", "requestId", r->request_id, "requestTime", when,
                            "requestTimeEpoch", (json_int_t)r->epoch_ms, "resourceId", "local", "resourcePath",
                            resource, "stage", r->stage);
    json_object_set_new(ev, "requestContext", ctx);
    set_body(ev, r);
    return ev;
}

json_t *sam_apigw_event(const sam_apigw_request *r)
{
    if (!r->v2)
        return event_v1(r);
    char key[4096];
    if (r->route_path)
        snprintf(key, sizeof key, "%s %s", r->route_method ? r->route_method : r->method, r->route_path);
    else
        snprintf(key, sizeof key, "$default");
    return event_v2(r, key);
}

/* ---- the response ---------------------------------------------------------------------- */

static void add_header(sam_apigw_response *out, size_t *n, const char *name, const char *value)
{
    char **grown = realloc(out->headers, (*n + 3) * sizeof *grown);
    if (!grown)
        return;
    out->headers = grown;
    out->headers[(*n)++] = strdup(name);
    out->headers[(*n)++] = strdup(value);
    out->headers[*n] = NULL;
}

/* A header value as API Gateway takes it: a string, or a number or boolean as text. */
static char *value_text(json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_number(v) || json_is_boolean(v))
        return json_dumps(v, JSON_ENCODE_ANY);
    return NULL;
}

static void fixed(sam_apigw_response *out, unsigned status, const char *body)
{
    size_t n = 0;
    out->status = status;
    buf_reset(&out->body);
    buf_append_str(&out->body, body);
    add_header(out, &n, "Content-Type", "application/json");
}

static int structured(json_t *doc, int v2, sam_apigw_response *out)
{
    json_t *sc = json_object_get(doc, "statusCode");
    long status = json_is_integer(sc) ? (long)json_integer_value(sc) : json_is_string(sc) ? atol(json_string_value(sc)) : 0;
    if (status < 100 || status > 599)
        return -1;
    out->status = (unsigned)status;
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(doc, "headers"), k, v) {
        char *text = value_text(v);
        if (text && strcasecmp(k, "content-length") != 0)
            add_header(out, &n, k, text);
        free(text);
    }
    json_object_foreach(json_object_get(doc, "multiValueHeaders"), k, v) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            char *text = value_text(item);
            if (text && strcasecmp(k, "content-length") != 0)
                add_header(out, &n, k, text);
            free(text);
        }
    }
    if (v2) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(doc, "cookies"), i, c) {
            if (json_is_string(c))
                add_header(out, &n, "Set-Cookie", json_string_value(c));
        }
    }
    json_t *body = json_object_get(doc, "body");
    const char *text = json_string_value(body);
    if (body && !json_is_null(body) && !text)
        return -1;
    buf_reset(&out->body);
    buf_append_str(&out->body, "");
    if (text && json_is_true(json_object_get(doc, "isBase64Encoded")))
        return sam_b64_decode(&out->body, text, json_string_length(body));
    if (text)
        buf_append(&out->body, text, json_string_length(body));
    return 0;
}

void sam_apigw_response_of(const char *result, size_t len, int is_error, int v2, sam_apigw_response *out)
{
    memset(out, 0, sizeof *out);
    if (is_error) {
        fixed(out, v2 ? 500 : 502, v2 ? "{\"message\":\"Internal Server Error\"}" : "{\"message\": \"Internal server error\"}");
        return;
    }
    json_error_t err;
    json_t *doc = json_loadb(result, len, JSON_DECODE_ANY, &err);
    if (doc && json_is_object(doc) && (json_object_get(doc, "statusCode") || !v2)) {
        if (structured(doc, v2, out) < 0) {
            sam_apigw_response_free(out);
            memset(out, 0, sizeof *out);
            fixed(out, v2 ? 500 : 502, v2 ? "{\"message\":\"Internal Server Error\"}" : "{\"message\": \"Internal server error\"}");
        }
    } else if (doc && v2) {
        /* The simple response: 200, application/json, the result (a string as its text). */
        size_t n = 0;
        out->status = 200;
        add_header(out, &n, "Content-Type", "application/json");
        buf_append_str(&out->body, "");
        if (json_is_string(doc))
            buf_append(&out->body, json_string_value(doc), json_string_length(doc));
        else
            buf_append(&out->body, result, len);
    } else {
        fixed(out, v2 ? 500 : 502, v2 ? "{\"message\":\"Internal Server Error\"}" : "{\"message\": \"Internal server error\"}");
    }
    json_decref(doc);
}

void sam_apigw_response_free(sam_apigw_response *r)
{
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        free(r->headers[i]);
    free(r->headers);
    buf_free(&r->body);
}

/* ---- one request ----------------------------------------------------------------------- */

typedef struct {
    const char *kv[2 * MAX_FIELDS + 1];
    size_t n;
} fields;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    fields *f = cls;
    if (f->n + 2 < 2 * MAX_FIELDS) {
        f->kv[f->n++] = key;
        f->kv[f->n++] = value;
        f->kv[f->n] = NULL;
    }
    return MHD_YES;
}

static void source_ip(struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "127.0.0.1");
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out, (socklen_t)len);
}

static int is_binary_type(const sam_server *s, const sam_route *r, const char *type, const char *body, size_t len)
{
    if (r->kind == SAM_ROUTE_REST_API) { /* REST APIs base64 only their BinaryMediaTypes */
        for (size_t i = 0; type && i < s->t.n_binary_types; i++) {
            const char *b = s->t.binary_types[i];
            if (strcmp(b, "*/*") == 0 || strncasecmp(type, b, strlen(b)) == 0)
                return 1;
        }
        return !sam_apigw_is_text(NULL, body, len);
    }
    return !sam_apigw_is_text(type, body, len);
}

static enum MHD_Result send_response(struct MHD_Connection *c, sam_apigw_response *resp)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(resp->body.len, resp->body.data ? resp->body.data : "",
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    for (size_t i = 0; resp->headers && resp->headers[i]; i += 2)
        MHD_add_response_header(r, resp->headers[i], resp->headers[i + 1]);
    enum MHD_Result rc = MHD_queue_response(c, resp->status, r);
    MHD_destroy_response(r);
    return rc;
}

/* A streamed response: the prelude's status, headers and cookies (an HTTP-integration
 * stream), else 200 and the stream's content type; then the body, chunk by chunk. */
static enum MHD_Result send_stream(struct MHD_Connection *c, sam_relay *relay, int v2)
{
    sam_apigw_response head = {.status = 200};
    size_t n = 0;
    if (strcmp(relay->inv.content_type, HTTP_INTEGRATION_TYPE) == 0) {
        buf_t prelude = BUF_INIT;
        json_t *doc = NULL;
        if (sam_relay_prelude(relay, &prelude) < 0 || !(doc = json_loadb(prelude.data, prelude.len, 0, NULL)) ||
            (json_object_del(doc, "body"), structured(doc, v2, &head) < 0)) {
            sam_apigw_response_free(&head);
            memset(&head, 0, sizeof head);
            head.status = 200;
        }
        json_decref(doc);
        buf_free(&prelude);
    } else if (relay->inv.content_type[0]) {
        add_header(&head, &n, "Content-Type", relay->inv.content_type);
    }
    struct MHD_Response *r = sam_relay_response(relay, 0);
    enum MHD_Result rc = MHD_NO;
    if (r) {
        for (size_t i = 0; head.headers && head.headers[i]; i += 2)
            MHD_add_response_header(r, head.headers[i], head.headers[i + 1]);
        rc = MHD_queue_response(c, head.status, r);
        MHD_destroy_response(r);
    }
    sam_apigw_response_free(&head);
    return rc;
}

enum MHD_Result sam_apigw_serve(sam_server *s, struct MHD_Connection *c, const char *url,
                                const char *raw_uri, const char *method, const char *body, size_t len)
{
    static _Thread_local captures caps; /* 8 KB: off the connection thread's stack */
    char rid[40], ip[64], raw_path[4096];
    match m;
    if (find_route(s, method, url, &m, &caps) < 0) {
        int rest = s->t.n > 0 && s->t.fns[0].n_routes > 0 && s->t.fns[0].routes[0].kind == SAM_ROUTE_REST_API;
        return sam_http_reply(c, rest ? 403 : 404, "application/json", rest ? not_found_rest : not_found_v2,
                                rest ? sizeof not_found_rest - 1 : sizeof not_found_v2 - 1);
    }
    if (m.route->kind == SAM_ROUTE_FUNCTION_URL) { /* the URL's own path: /<id> dropped */
        size_t cut = 1 + strlen(s->t.fns[m.fn].id);
        url += cut;
        raw_uri += cut;
        caps.n = 0;
    }
    const char *params[2 * MAX_SEGMENTS + 1];
    for (size_t i = 0; i < caps.n; i++) {
        params[2 * i] = caps.names[i];
        params[2 * i + 1] = caps.values[i];
    }
    params[2 * caps.n] = NULL;
    fields h = {.n = 0}, q = {.n = 0};
    h.kv[0] = q.kv[0] = NULL;
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect, &h);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &q);
    const char *qm = strchr(raw_uri, '?');
    snprintf(raw_path, sizeof raw_path, "%.*s", (int)(qm ? (size_t)(qm - raw_uri) : strlen(raw_uri)), raw_uri);
    unsigned char rb[8];
    if (getrandom(rb, sizeof rb, 0) != (ssize_t)sizeof rb)
        memset(rb, 0, sizeof rb);
    snprintf(rid, sizeof rid, "%02x%02x%02x%02x%02x%02x%02x%02x=", rb[0], rb[1], rb[2], rb[3], rb[4], rb[5], rb[6], rb[7]);
    source_ip(c, ip, sizeof ip);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const sam_route *r = m.route;
    sam_apigw_request req = {
        .method = method, .path = url, .raw_path = raw_path, .raw_query = qm ? qm + 1 : "",
        .route_path = r->kind == SAM_ROUTE_FUNCTION_URL ? NULL : r->path, .route_method = r->method, .source_ip = ip, .request_id = rid,
        .stage = r->kind == SAM_ROUTE_REST_API ? "Prod" : "$default", .headers = h.kv, .query = q.kv,
        .params = params, .body = body, .body_len = len,
        .binary = len > 0 && is_binary_type(s, r, header(h.kv, "content-type"), body, len),
        .v2 = r->payload_v2, .epoch_ms = now.tv_sec * 1000.0 + now.tv_nsec / 1e6};
    json_t *ev = sam_apigw_event(&req);
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!text)
        return sam_http_reply(c, 500, "application/json", "{\"message\":\"out of memory\"}", 26);
    sam_relay *relay = sam_relay_new(s->pools[m.fn], text, strlen(text));
    if (!relay)
        return sam_http_reply(c, 500, "application/json", "{\"message\":\"out of memory\"}", 26);
    relay->inv.trace_id = header(h.kv, "x-amzn-trace-id");
    sam_pool_invoke(s->pools[m.fn], &relay->inv);
    if (relay->inv.streaming)
        return send_stream(c, relay, r->payload_v2);
    sam_apigw_response resp;
    sam_apigw_response_of(relay->inv.result.data ? relay->inv.result.data : "", relay->inv.result.len,
                          relay->inv.is_error, r->payload_v2, &resp);
    enum MHD_Result rc = send_response(c, &resp);
    sam_apigw_response_free(&resp);
    sam_relay_free(relay);
    return rc;
}
