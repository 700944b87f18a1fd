/* sam_server: `host local start-api` and `host local start-lambda`: the functions' worker
 * pools behind an HTTP front end (libmicrohttpd), until Ctrl-C. */
#ifndef HOST_SAM_SERVER_H
#define HOST_SAM_SERVER_H

#include "sam_main.h"

/* Runs the server o->command names; returns the exit status. */
int sam_serve(const sam_options *o);

#endif
