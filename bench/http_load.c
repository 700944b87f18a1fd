/* http_load: a small HTTP/1.1 keep-alive load client for the start-api benchmarks: C threads
 * instead of Python processes, so the client's own cost stays out of the figures.
 *   http_load PORT PATH CLIENTS REQUESTS_PER_CLIENT WARMUP  ->  one JSON line */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536

static int port, per_client, warmup;
static const char *path;

typedef struct {
    double *lat;
    long n;
    int failed;
} result;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads one response (headers + Content-Length body); 0 on a 200. */
static int read_response(int fd, char *buf)
{
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, BUF_SIZE - 1 - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t body = cl ? (size_t)atol(cl + 17) : 0, head = (size_t)(end + 4 - buf);
        while (have < head + body) {
            n = read(fd, buf + have, BUF_SIZE - 1 - have);
            if (n <= 0)
                return -1;
            have += (size_t)n;
        }
        return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
    }
}

static void *run(void *arg)
{
    result *r = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        r->failed = 1;
        return NULL;
    }
    char req[512], *buf = malloc(BUF_SIZE);
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: http_load\r\n\r\n", path);
    r->lat = malloc(sizeof *r->lat * (size_t)per_client);
    for (int i = 0; i < per_client + warmup; i++) {
        double t = now();
        if (write(fd, req, (size_t)len) != len || read_response(fd, buf) < 0) {
            r->failed = 1;
            break;
        }
        if (i >= warmup)
            r->lat[r->n++] = now() - t;
    }
    free(buf);
    close(fd);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: http_load PORT PATH CLIENTS REQUESTS WARMUP\n");
        return 2;
    }
    port = atoi(argv[1]);
    path = argv[2];
    int clients = atoi(argv[3]);
    per_client = atoi(argv[4]);
    warmup = atoi(argv[5]);
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    result *r = calloc((size_t)clients, sizeof *r);
    double t0 = now();
    for (int i = 0; i < clients; i++)
        pthread_create(&t[i], NULL, run, &r[i]);
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    double wall = now() - t0;
    long total = 0, failed = 0;
    for (int i = 0; i < clients; i++)
        total += r[i].n, failed += r[i].failed;
    double *all = malloc(sizeof *all * (size_t)(total + 1));
    long k = 0;
    for (int i = 0; i < clients; i++)
        for (long j = 0; j < r[i].n; j++)
            all[k++] = r[i].lat[j];
    qsort(all, (size_t)total, sizeof *all, cmp);
    printf("{\"n\":%ld,\"failed\":%ld,\"p50_us\":%.1f,\"p99_us\":%.1f,\"rps\":%.1f}\n", total, failed,
           total ? all[total / 2] * 1e6 : 0, total ? all[(long)(total * 0.99)] * 1e6 : 0,
           total / wall);
    return failed ? 1 : 0;
}
