/* buf: one growable byte buffer. The owner calls buf_free once; every append
 * either succeeds or leaves the buffer unchanged and returns -1 (out of memory). */
#ifndef HOST_BUF_H
#define HOST_BUF_H

#include <stddef.h>

typedef struct {
    char *data;   /* NUL-terminated whenever data != NULL */
    size_t len;
    size_t cap;
} buf_t;

#define BUF_INIT {NULL, 0, 0}

int buf_reserve(buf_t *b, size_t extra);
int buf_append(buf_t *b, const void *p, size_t n);
int buf_append_str(buf_t *b, const char *s);
int buf_append_char(buf_t *b, char c);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(buf_t *b);   /* len = 0, memory kept for reuse */
void buf_free(buf_t *b);

#endif
