/* sam_b64: base64 (RFC 4648, with padding) for the local servers: API Gateway bodies,
 * X-Amz-Log-Result and X-Amz-Client-Context. */
#ifndef HOST_SAM_B64_H
#define HOST_SAM_B64_H

#include "buf.h"

/* Appends the encoding of p[0..n) to out; -1 when out of memory. */
int sam_b64_encode(buf_t *out, const void *p, size_t n);

/* Appends the decoding of s[0..n) to out (whitespace skipped); -1 on a character outside
 * the alphabet or when out of memory. */
int sam_b64_decode(buf_t *out, const char *s, size_t n);

#endif
