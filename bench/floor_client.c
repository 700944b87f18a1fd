/* floor_client: a raw-socket Runtime API client with the least possible work per invoke,
 * used only to show rapi_bench_server's own ceiling (request pairs per second).
 *   floor_client lockstep   GET next, wait, POST response, wait (what a real runtime does)
 *   floor_client coalesced  POST response + the next GET in one write (one round trip a pair)
 *   floor_client pipelined  64 (POST response + GET next) pairs per write, request ids predicted
 *                           from the server's counter: the server's own capacity, not a latency
 * The response body is "null". Runs until the server closes the connection or kills it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[1 << 16];
static size_t blen;
static int fd;

/* Reads one response; returns its status. Copies the request id header if present. */
static int read_response(char *rid, size_t rid_cap)
{
    for (;;) {
        char *e = memmem(buf, blen, "\r\n\r\n", 4);
        if (e) {
            size_t hl = e + 4 - buf;
            long clen = 0;
            char *p = buf;
            while (p < e) {
                char *nl = memchr(p, '\n', e + 2 - p);
                if (!nl)
                    break;
                if (strncasecmp(p, "Content-Length:", 15) == 0)
                    clen = strtol(p + 15, NULL, 10);
                else if (rid && strncasecmp(p, "Lambda-Runtime-Aws-Request-Id:", 30) == 0) {
                    char *v = p + 30;
                    while (*v == ' ')
                        v++;
                    size_t l = nl - v;
                    while (l && (v[l - 1] == '\r' || v[l - 1] == ' '))
                        l--;
                    if (l >= rid_cap)
                        l = rid_cap - 1;
                    memcpy(rid, v, l);
                    rid[l] = 0;
                }
                p = nl + 1;
            }
            if (hl + clen > sizeof buf)
                exit(3);
            while (blen < hl + clen) {
                ssize_t n = read(fd, buf + blen, sizeof buf - blen);
                if (n <= 0)
                    exit(0);
                blen += n;
            }
            int status = atoi(buf + 9);
            memmove(buf, buf + hl + clen, blen - hl - clen);
            blen -= hl + clen;
            return status;
        }
        ssize_t n = read(fd, buf + blen, sizeof buf - blen);
        if (n <= 0)
            exit(0);
        blen += n;
    }
}

static void write_str(const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            exit(0);
        s += w;
        n -= w;
    }
}

int main(int argc, char **argv)
{
    int coalesced = argc > 1 && strcmp(argv[1], "coalesced") == 0;
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api)
        return 1;
    char host[64];
    snprintf(host, sizeof host, "%s", api);
    char *colon = strchr(host, ':');
    if (!colon)
        return 1;
    *colon = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(colon + 1))};
    inet_pton(AF_INET, host, &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return 1;

    static const char get_next[] = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n";
    char rid[128], req[512];
    write_str(get_next, sizeof get_next - 1);
    if (argc > 1 && strcmp(argv[1], "pipelined") == 0) {
        /* ids are "<prefix><12-digit counter>" (rapi_bench_server's RID_FMT) */
        enum { DEPTH = 64 };
        static char batch[DEPTH * 256];
        if (read_response(rid, sizeof rid) != 200)
            return 2;
        size_t rl = strlen(rid);
        if (rl < 12)
            return 2;
        unsigned long long k = strtoull(rid + rl - 12, NULL, 10);
        rid[rl - 12] = 0;
        for (;;) {
            size_t bl = 0;
            for (int j = 0; j < DEPTH; j++)
                bl += snprintf(batch + bl, sizeof batch - bl,
                               "POST /2018-06-01/runtime/invocation/%s%012llu/response HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 4\r\n\r\nnull%s",
                               rid, k + j, get_next);
            write_str(batch, bl);
            for (int j = 0; j < DEPTH; j++) {
                if (read_response(NULL, 0) != 202 || read_response(NULL, 0) != 200)
                    return 2;
            }
            k += DEPTH;
        }
    }
    for (;;) {
        if (read_response(rid, sizeof rid) != 200)
            return 2;
        int n = snprintf(req, sizeof req,
                         "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 4\r\n\r\nnull%s",
                         rid, coalesced ? get_next : "");
        write_str(req, n);
        if (read_response(NULL, 0) != 202)
            return 2;
        if (!coalesced)
            write_str(get_next, sizeof get_next - 1);
    }
}
