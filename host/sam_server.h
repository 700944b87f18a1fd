/* sam_server: `host local start-api` and `host local start-lambda`: one worker pool per
 * function behind an HTTP front end (libmicrohttpd, a thread per connection), until
 * Ctrl-C or SIGTERM. The front ends themselves are sam_lambda_api.c and sam_apigw.c. */
#ifndef HOST_SAM_SERVER_H
#define HOST_SAM_SERVER_H

#include <microhttpd.h>

#include "sam_main.h"
#include "sam_pool.h"

typedef struct {
    const sam_options *o;
    sam_template t;
    sam_pool **pools;   /* one per t.fns[i] */
    char ***envps;      /* each pool's environment */
} sam_server;

/* One request, its body complete. url is MHD's decoded path; raw_uri is the request
 * target as sent (path and query string, still percent-encoded). */
typedef enum MHD_Result (*sam_front_fn)(sam_server *s, struct MHD_Connection *c, const char *url,
                                        const char *raw_uri, const char *method, const char *body,
                                        size_t len);

/* Runs the server o->command names; returns the exit status. */
int sam_serve(const sam_options *o);

/* The pool of the function with that logical id (Borrowed), or NULL. */
sam_pool *sam_server_pool(const sam_server *s, const char *id);

#endif
