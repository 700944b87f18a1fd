/* sam_rapid: one worker's local Runtime API (next, response, error, init/error) on
 * 127.0.0.1, served by libmicrohttpd with a thread per connection, so a worker's long
 * poll on next simply blocks its own thread in sam_pool_next. */
#ifndef HOST_SAM_RAPID_H
#define HOST_SAM_RAPID_H

#include <microhttpd.h>

#include "sam_pool.h"

/* Listens on 127.0.0.1 on a free port (put in *port). NULL on failure. */
struct MHD_Daemon *sam_rapid_start(sam_worker *w, int *port);

#endif
