/* sam_relay: a streamed invocation relayed to an HTTP client (see sam_relay.h). */
#include "sam_relay.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PRELUDE_END_LEN 8        /* the NUL bytes between the HTTP prelude and the body */
#define READ_CHUNK 65536
#define FRAME_ROOM 256           /* an event-stream message's prelude, headers and CRC */
#define EVENT_PRELUDE_LEN 12     /* total length, headers length, prelude CRC */
#define EVENT_HEADER_STRING 7    /* the header value type "string" */

sam_relay *sam_relay_new(sam_pool *p, char *event, size_t len)
{
    sam_relay *r = calloc(1, sizeof *r);
    if (!r) {
        free(event);
        return NULL;
    }
    r->pool = p;
    r->event = event;
    sam_invocation_init(&r->inv);
    r->inv.event = event;
    r->inv.event_len = len;
    return r;
}

void sam_relay_free(sam_relay *r)
{
    if (r->inv.streaming)
        sam_pool_stream_close(r->pool, &r->inv);
    sam_invocation_free(&r->inv);
    buf_free(&r->head);
    free(r->event);
    free(r);
}

int sam_relay_prelude(sam_relay *r, buf_t *prelude)
{
    static const char zeros[PRELUDE_END_LEN];
    char chunk[READ_CHUNK];
    for (;;) {
        char *end = r->head.data ? memmem(r->head.data, r->head.len, zeros, PRELUDE_END_LEN) : NULL;
        if (end) {
            size_t n = (size_t)(end - r->head.data);
            buf_append(prelude, r->head.data, n);
            r->head_off = n + PRELUDE_END_LEN;
            return 0;
        }
        size_t n = sam_pool_read(r->pool, &r->inv, chunk, sizeof chunk);
        if (n == 0 || buf_append(&r->head, chunk, n) < 0)
            return -1;
    }
}

/* One event-stream message: :event-type type, :message-type event, :content-type ctype. */
static size_t frame(char *out, const char *type, const char *ctype, const char *payload, size_t len)
{
    const char *names[] = {":event-type", ":message-type", ":content-type"};
    const char *values[] = {type, "event", ctype};
    size_t h = EVENT_PRELUDE_LEN;
    for (int i = 0; i < 3; i++) {
        size_t nl = strlen(names[i]), vl = strlen(values[i]);
        out[h++] = (char)nl;
        memcpy(out + h, names[i], nl);
        h += nl;
        out[h++] = EVENT_HEADER_STRING;
        uint16_t be = htons((uint16_t)vl);
        memcpy(out + h, &be, 2);
        memcpy(out + h + 2, values[i], vl);
        h += 2 + vl;
    }
    memmove(out + h, payload, len);
    uint32_t total = (uint32_t)(h + len + 4), hl = htonl((uint32_t)(h - EVENT_PRELUDE_LEN)), tl = htonl(total);
    memcpy(out, &tl, 4);
    memcpy(out + 4, &hl, 4);
    uint32_t pc = htonl((uint32_t)crc32(0, (const Bytef *)out, 8));
    memcpy(out + 8, &pc, 4);
    uint32_t mc = htonl((uint32_t)crc32(0, (const Bytef *)out, (uInt)(h + len)));
    memcpy(out + h + len, &mc, 4);
    return total;
}

/* InvokeComplete, with ErrorCode and ErrorDetails when the function failed. */
static size_t complete_frame(sam_relay *r, char *out, size_t max)
{
    json_t *doc = json_object();
    if (r->inv.is_error) {
        json_t *err = json_loadb(r->inv.result.data ? r->inv.result.data : "", r->inv.result.len, 0, NULL);
        json_t *type = json_object_get(err, "errorType");
        json_object_set_new(doc, "ErrorCode", json_string(json_is_string(type) ? json_string_value(type) : "Unhandled"));
        json_object_set_new(doc, "ErrorDetails", json_stringn(r->inv.result.data ? r->inv.result.data : "", r->inv.result.len));
        json_decref(err);
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    size_t len = text ? strlen(text) : 0;
    size_t n = len + FRAME_ROOM <= max ? frame(out, "InvokeComplete", "application/json", text ? text : "", len) : 0;
    free(text);
    return n;
}

/* Logged once, as Lambda logs a stream that a handler's error cut short. */
static void log_failure(sam_relay *r)
{
    fprintf(stderr, "host local: %s: the stream ended with an error: %.*s\n", sam_pool_function(r->pool)->id,
            (int)r->inv.result.len, r->inv.result.data ? r->inv.result.data : "");
}

static ssize_t read_stream(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    sam_relay *r = cls;
    if (r->finished)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t room = r->eventstream ? (max > FRAME_ROOM ? max - FRAME_ROOM : 0) : max, n;
    if (room == 0)
        return 0;
    char *body = r->eventstream ? out + FRAME_ROOM : out;
    if (r->head_off < r->head.len) {
        n = r->head.len - r->head_off < room ? r->head.len - r->head_off : room;
        memcpy(body, r->head.data + r->head_off, n);
        r->head_off += n;
    } else {
        n = sam_pool_read(r->pool, &r->inv, body, room);
    }
    if (n > 0)
        return r->eventstream ? (ssize_t)frame(out, "PayloadChunk", "application/octet-stream", body, n) : (ssize_t)n;
    r->finished = 1;
    if (r->inv.is_error)
        log_failure(r);
    if (!r->eventstream)
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = complete_frame(r, out, max);
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void free_stream(void *cls)
{
    sam_relay_free(cls);
}

struct MHD_Response *sam_relay_response(sam_relay *r, int eventstream)
{
    r->eventstream = eventstream;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, READ_CHUNK + FRAME_ROOM,
                                                                  read_stream, r, free_stream);
    if (!resp)
        sam_relay_free(r);
    return resp;
}
