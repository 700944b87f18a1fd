/* sam_b64: base64 encoding and decoding. */
#include "sam_b64.h"

#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sam_b64_encode(buf_t *out, const void *p, size_t n)
{
    const unsigned char *s = p;
    if (buf_reserve(out, (n + 2) / 3 * 4 + 1) < 0)
        return -1;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {alphabet[v >> 18 & 63], alphabet[v >> 12 & 63], i + 1 < n ? alphabet[v >> 6 & 63] : '=',
                     i + 2 < n ? alphabet[v & 63] : '='};
        buf_append(out, q, 4);
    }
    return buf_append(out, "", 0);
}

int sam_b64_decode(buf_t *out, const char *s, size_t n)
{
    unsigned v = 0;
    int bits = 0;
    if (buf_append(out, "", 0) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=' || c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        const char *k = c ? strchr(alphabet, c) : NULL;
        if (!k)
            return -1;
        v = (v << 6 | (unsigned)(k - alphabet)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char b = (char)(v >> bits & 0xff);
            if (buf_append(out, &b, 1) < 0)
                return -1;
        }
    }
    return 0;
}
