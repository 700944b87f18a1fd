/* sam_apigw: `host local start-api`: API Gateway in front of the worker pools. A request
 * is matched to the template's HttpApi and Api events (literal segments before {param},
 * {param} before {proxy+}, a method before ANY), turned into the event API Gateway sends
 * (HTTP API payload 2.0 or 1.0; REST API 1.0: path and query parameters, multi-value
 * headers, cookies, base64 bodies), and the function's result is turned back into the
 * HTTP response (statusCode, headers, multiValueHeaders, cookies, isBase64Encoded; the
 * 2.0 "simple response" rules for a result without statusCode). */
#ifndef HOST_SAM_APIGW_H
#define HOST_SAM_APIGW_H

#include "sam_server.h"

/* -1 (and a message) when the template has no API event; with --handler and no template
 * every request goes to the one function ($default). */
int sam_apigw_check_routes(sam_server *s);

void sam_apigw_print_routes(const sam_server *s);

enum MHD_Result sam_apigw_serve(sam_server *s, struct MHD_Connection *c, const char *url,
                                const char *raw_uri, const char *method, const char *body, size_t len);

/* The event for one request; exposed for the unit tests. New reference. */
typedef struct {
    const char *method, *path, *raw_path, *raw_query, *route_path, *source_ip, *request_id;
    const char *route_method;    /* the event's method as the template writes it (ANY, GET, ...) */
    const char *stage;           /* "$default" (HTTP API) or "Prod" (REST API) */
    const char *const *headers;  /* name, value, name, value, ..., NULL: as received, in order */
    const char *const *query;    /* decoded name, value (value NULL for a bare name), ..., NULL */
    const char *const *params;   /* path parameters: name, value, ..., NULL */
    const char *body;
    size_t body_len;
    int binary;                  /* the body goes base64 */
    int v2;
    double epoch_ms;
} sam_apigw_request;

json_t *sam_apigw_event(const sam_apigw_request *r);

/* The HTTP response for a function's result. */
typedef struct {
    unsigned status;
    char **headers;   /* name, value, ..., NULL; owned */
    buf_t body;
} sam_apigw_response;

void sam_apigw_response_of(const char *result, size_t len, int is_error, int v2, sam_apigw_response *out);
void sam_apigw_response_free(sam_apigw_response *r);

/* 1 when a body of this Content-Type is text for API Gateway, 0 when it goes base64. */
int sam_apigw_is_text(const char *content_type, const char *body, size_t len);

#endif
