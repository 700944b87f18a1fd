/* check_curl_printf: the layer's libcurl formats as C's printf does. layer/build-inside.sh
 * builds it against the freshly built static libcurl (with layer/patches/ applied) and
 * fails the build if it finds a difference.
 *
 * curl_maprintf goes through the same allocating sink as curlx_dyn_addf, which builds the
 * request line and headers of every request host sends. The cases cross the patch's
 * 256-byte staging block in every way: literal text and %s bodies of every length around
 * it, many short pieces in one format, precision, width and padding, numbers, %c, %%, the
 * empty result, and a stop at a NUL inside a %.*s precision. */
#include <curl/curl.h>
#include <curl/mprintf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX 2100

static int failures;

static void expect(const char *what, size_t n, const char *fmt, ...)
{
    static char want[4 * MAX + 256];
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    vsnprintf(want, sizeof want, fmt, ap);
    char *got = curl_mvaprintf(fmt, aq);
    va_end(aq);
    va_end(ap);
    if (!got || strcmp(got, want) != 0) {
        if (failures++ < 10)
            fprintf(stderr, "check_curl_printf: %s (n=%zu): curl gave %zu bytes%s, printf %zu\n",
                    what, n, got ? strlen(got) : 0, got ? "" : " (NULL)", strlen(want));
    }
    curl_free(got);
}

int main(void)
{
    static char text[MAX + 1], fmt[MAX + 16];
    for (size_t i = 0; i < MAX; i++)
        text[i] = (char)('!' + i % 90 + (i % 90 >= 4)); /* printable, no '%' */
    for (size_t n = 0; n <= MAX; n += n < 600 ? 1 : 37) {
        /* a literal run of n bytes, alone and around a conversion */
        memcpy(fmt, text, n);
        fmt[n] = '\0';
        expect("literal", n, fmt);
        snprintf(fmt, sizeof fmt, "%.*s%%d|%%s", (int)n, text);
        expect("literal then conversions", n, fmt, (int)n, "tail");
        /* %s bodies of n bytes, with precision and widths */
        char *s = strndup(text, n);
        expect("%s", n, "%s", s);
        expect("%s%s", n, "%s%s", s, s);
        expect("GET %s HTTP/1.1", n, "GET %s HTTP/1.1\r\nHost: %s\r\n", s, "127.0.0.1:9001");
        expect("%.*s", n, "[%.*s]", (int)(n / 2), s);
        expect("%-300s|", n, "%-300s|%5d", s, (int)n);
        expect("%300s|", n, "%300s|%c", s, 'x');
        free(s);
    }
    /* many short pieces: the block fills up in the middle of one of them */
    for (size_t k = 1; k <= 40; k++) {
        char *s = strndup(text, k);
        expect("pieces", k, "%s:%s;%s,%s.%s-%s+%s=%s/%s\\%s'%s\"%s#%s&%s(%s)%s[%s]%s{%s}%s",
               s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s);
        expect("numbers", k, "%zu %ld %lld %x %X %o %08d %-8d| %+d %%", k, -(long)k,
               (long long)k << 40, (unsigned)k * 977, (unsigned)k * 977, (unsigned)k, (int)k,
               (int)k, (int)k);
        free(s);
    }
    /* a NUL inside the precision ends the string there, as printf's does */
    expect("NUL in precision", 0, "<%.*s>", 10, "abc\0def");
    expect("empty", 0, "%s", "");
    if (failures) {
        fprintf(stderr, "check_curl_printf: %d differences from printf\n", failures);
        return 1;
    }
    puts("check_curl_printf: curl_maprintf agrees with printf");
    return 0;
}
