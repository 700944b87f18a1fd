/* sam_relay: a streamed invocation passed on to an HTTP client as it arrives, chunk by
 * chunk: as is (start-api), or in AWS's event-stream framing (start-lambda's
 * InvokeWithResponseStream). The relay owns the invocation and its event. */
#ifndef HOST_SAM_RELAY_H
#define HOST_SAM_RELAY_H

#include <microhttpd.h>

#include "sam_pool.h"

typedef struct {
    sam_pool *pool;
    sam_invocation inv;
    char *event;     /* owned */
    buf_t head;      /* bytes read before the response was made (after the prelude) */
    size_t head_off;
    int eventstream; /* frame each chunk as a PayloadChunk, end with InvokeComplete */
    int finished;
} sam_relay;

/* A relay for event (taken, malloc'ed, freed with the relay) on p; inv is set up. NULL
 * when out of memory (event freed). */
sam_relay *sam_relay_new(sam_pool *p, char *event, size_t len);
/* Waits for the invocation's end, frees everything. */
void sam_relay_free(sam_relay *r);
/* Reads an HTTP-integration prelude (the JSON before 8 NUL bytes) into prelude; the bytes
 * after it are kept for the response. -1 when the stream ends first. */
int sam_relay_prelude(sam_relay *r, buf_t *prelude);
/* A chunked response reading the stream; it takes r (freed with the response). */
struct MHD_Response *sam_relay_response(sam_relay *r, int eventstream);

#endif
