/* sam_template: a SAM / CloudFormation template read for local runs: its parameters (with
 * --parameter-overrides), Globals, and each AWS::Serverless::Function's handler, code
 * folder, timeout, memory, environment, local layers and API events, with the intrinsic
 * functions evaluated (sam_intrinsics.h). Anything it cannot use is an error naming file
 * and line. */
#ifndef HOST_SAM_TEMPLATE_H
#define HOST_SAM_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

/* SAM_ROUTE_FUNCTION_URL: the function's FunctionUrlConfig, served by start-api under
 * /<logical id>/ (a function URL has a host of its own on AWS); payload 2.0, $default. */
typedef enum { SAM_ROUTE_HTTP_API, SAM_ROUTE_REST_API, SAM_ROUTE_FUNCTION_URL } sam_route_kind;

typedef struct {
    sam_route_kind kind;
    char *method;     /* upper case; "ANY" matches every method */
    char *path;       /* "/cart/items/{sku}", "/{proxy+}"; NULL: HttpApi's $default route */
    int payload_v2;   /* HttpApi's PayloadFormatVersion 2.0 (the default) */
} sam_route;

typedef struct {
    char *id;          /* the logical id: what start-lambda and invoke call it */
    char *handler;     /* MOD.FN */
    char *code_dir;    /* absolute */
    char *runtime;     /* as written; may be NULL */
    double timeout;    /* seconds */
    int memory_mb;
    json_t *env;       /* {"NAME": "value"}, owned */
    char **layers;     /* absolute folders, in the template's order */
    size_t n_layers;
    sam_route *routes;
    size_t n_routes;
} sam_function;

typedef struct {
    char *path;            /* as given */
    sam_function *fns;
    size_t n;
    char **binary_types;   /* REST APIs' BinaryMediaTypes, "~1" already turned into "/" */
    size_t n_binary_types;
} sam_template;

typedef struct {
    json_t *parameters;    /* {"Name": "value"} from --parameter-overrides; borrowed */
    const char *region;    /* AWS::Region */
} sam_template_options;

/* Reads path. -1 with a message in err (file:line: what, and the fix). */
int sam_template_load(sam_template *t, const char *path, const sam_template_options *o,
                      char *err, size_t errlen);
void sam_template_free(sam_template *t);

/* The function with that logical id (Borrowed), or NULL. */
sam_function *sam_template_find(const sam_template *t, const char *id);

/* Turns "K=V" and SAM's "ParameterKey=K,ParameterValue=V" words into obj. -1 and err. */
int sam_parse_parameter_override(json_t *obj, const char *word, char *err, size_t errlen);

#endif
