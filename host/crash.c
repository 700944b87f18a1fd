/* crash: reporting a fatal signal of the interpreter (async-signal-safe). */
#include "crash.h"

#include "diag.h"

#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct sockaddr_storage api_addr;
static socklen_t api_addr_len;
static char api_host[256];
static int result_fd = -1;
static const char *volatile current_request;

static const int fatal_signals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
static pid_t installed_by; /* the process whose invocation a crash reports */
static int say_why;        /* host's own line on stderr (diag.h: local mode, HOST_DEBUG=1) */

void crash_set_request(const char *request_id)
{
    current_request = request_id;
}

/* ---- async-signal-safe string building ---- */

typedef struct {
    char *p;
    size_t left;
} sbuf;

static void put(sbuf *b, const char *s)
{
    while (*s && b->left > 1) {
        *b->p++ = *s++;
        b->left--;
    }
    *b->p = '\0';
}

/* A request id inside a JSON string: quotes, backslashes and control bytes dropped. */
static void put_json_safe(sbuf *b, const char *s)
{
    for (; *s && b->left > 1; s++) {
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            continue;
        *b->p++ = *s;
        b->left--;
    }
    *b->p = '\0';
}

static void put_uint(sbuf *b, unsigned long v)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i < 23);
    char out[24];
    for (int j = 0; j < i; j++)
        out[j] = tmp[i - 1 - j];
    out[i] = '\0';
    put(b, out);
}

static const char *signal_words(int sig)
{
    switch (sig) {
    case SIGSEGV: return "segmentation fault (SIGSEGV)";
    case SIGABRT: return "aborted (SIGABRT)";
    case SIGBUS: return "bus error (SIGBUS)";
    case SIGFPE: return "floating point exception (SIGFPE)";
    default: return "illegal instruction (SIGILL)";
    }
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static size_t error_body(char *out, size_t cap, const char *rid, int sig)
{
    sbuf b = {out, cap};
    put(&b, "{\"errorMessage\": \"RequestId: ");
    put_json_safe(&b, rid);
    put(&b, " Error: Runtime exited with signal: ");
    put(&b, signal_words(sig));
    put(&b, "\", \"errorType\": \"Runtime.ExitError\", \"requestId\": \"");
    put_json_safe(&b, rid);
    put(&b, "\", \"stackTrace\": []}");
    return (size_t)(b.p - out);
}

static void post_error(const char *rid, const char *body, size_t len)
{
    static char req[2048];
    sbuf b = {req, sizeof req};
    put(&b, "POST /2018-06-01/runtime/invocation/");
    put_json_safe(&b, rid);
    put(&b, "/error HTTP/1.1\r\nHost: ");
    put(&b, api_host);
    put(&b, "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ");
    put_uint(&b, len);
    put(&b, "\r\n\r\n");
    int s = socket(api_addr.ss_family, SOCK_STREAM, 0);
    if (s < 0)
        return;
    struct timeval tv = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&api_addr, api_addr_len) == 0) {
        write_all(s, req, (size_t)(b.p - req));
        write_all(s, body, len);
        char ack[256];
        (void)!read(s, ack, sizeof ack); /* wait for the 202, bounded by SO_RCVTIMEO */
    }
    close(s);
}

static void on_fatal_signal(int sig)
{
    static char body[1024];
    /* A child forked by the handler (multiprocessing's fork) inherits these handlers; its
     * crash is not the invocation's. */
    const char *rid = getpid() == installed_by ? current_request : NULL;
    if (say_why) {
        static const char head[] = "host: the Python process died of a fatal signal: ";
        write_all(2, head, sizeof head - 1);
        const char *words = signal_words(sig);
        write_all(2, words, strlen(words));
        write_all(2, "\n", 1);
    }
    if (rid) {
        size_t n = error_body(body, sizeof body, rid, sig);
        if (result_fd >= 0) {
            write_all(result_fd, body, n);
            write_all(result_fd, "\n", 1);
        } else if (api_addr_len) {
            post_error(rid, body, n);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void resolve_endpoint(const char *endpoint)
{
    char host[256], port[16] = "80";
    snprintf(host, sizeof host, "%s", endpoint);
    snprintf(api_host, sizeof api_host, "%s", endpoint);
    char *colon = strrchr(host, ':');
    if (colon) {
        *colon = '\0';
        snprintf(port, sizeof port, "%s", colon + 1);
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) == 0 && res) {
        memcpy(&api_addr, res->ai_addr, res->ai_addrlen);
        api_addr_len = res->ai_addrlen;
    }
    if (res)
        freeaddrinfo(res);
}

void crash_install(const char *endpoint, int fd)
{
    result_fd = fd;
    installed_by = getpid();
    say_why = diag_on();
    if (endpoint && *endpoint)
        resolve_endpoint(endpoint);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER | SA_RESETHAND;
    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++)
        sigaction(fatal_signals[i], &sa, NULL);
}
