/* diag: host's own diagnostic lines, shown in local mode or with HOST_DEBUG=1. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int enabled = -1; /* -1: HOST_DEBUG not read yet */

void diag_enable(void)
{
    enabled = 1;
}

int diag_on(void)
{
    if (enabled < 0) {
        const char *v = getenv("HOST_DEBUG");
        enabled = v && strcmp(v, "1") == 0;
    }
    return enabled;
}

void diag(const char *fmt, ...)
{
    if (!diag_on())
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("host: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    va_end(ap);
}
