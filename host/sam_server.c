/* sam_server: the local servers' life cycle: pools, the listening socket, signals, shutdown. */
#include "sam_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sam_apigw.h"
#include "sam_http.h"
#include "sam_lambda_api.h"

#define LISTEN_BACKLOG 512
#define MAX_REQUEST_BODY (6 * 1024 * 1024) /* Lambda's synchronous payload limit */

typedef struct {
    sam_server *s;
    sam_front_fn front;
} front;

typedef struct {
    sam_request r; /* first: sam_request_done frees it as one */
    int started;   /* the first call (headers only) has been answered */
} front_request;

sam_pool *sam_server_pool(const sam_server *s, const char *id)
{
    for (size_t i = 0; i < s->t.n; i++)
        if (strcmp(s->t.fns[i].id, id) == 0)
            return s->pools[i];
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **state)
{
    (void)version;
    front *f = cls;
    front_request *q = *state;
    if (!q)
        return MHD_NO;
    if (!q->started) {
        q->started = 1;
        return MHD_YES;
    }
    if (*data_size > 0) {
        sam_request_gather(&q->r, data, data_size);
        return MHD_YES;
    }
    if (q->r.too_big) {
        static const char msg[] = "{\"message\":\"Request must be smaller than 6291456 bytes\"}";
        return sam_http_reply(c, 413, "application/json", msg, sizeof msg - 1);
    }
    return f->front(f->s, c, url, q->r.raw_uri, method, sam_request_body(&q->r), q->r.body.len);
}

/* The first callback of a request: the target as sent, before MHD decodes it. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    return sam_request_new(sizeof(front_request), uri, MAX_REQUEST_BODY);
}

/* Our own socket, so that a port in use is reported as such. */
static int listen_on(const char *host, int port, int *bound)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "host local: --host %s is not an IPv4 address (try 127.0.0.1 or 0.0.0.0)\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int e = errno;
        fprintf(stderr, "host local: cannot listen on %s:%d: %s%s\n", host, port, strerror(e),
                e == EADDRINUSE ? ". Stop what uses that port, or pick another with -p PORT" : "");
        close(fd);
        return -1;
    }
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *bound = ntohs(a.sin_port);
    return fd;
}

static int start_pools(sam_server *s)
{
    const sam_options *o = s->o;
    s->pools = calloc(s->t.n, sizeof *s->pools);
    s->envps = calloc(s->t.n, sizeof *s->envps);
    if (!s->pools || !s->envps)
        return -1;
    sam_pool_options po = {.max_workers = o->workers, .watch = o->watch && !o->debug, .debug = o->debug,
                           .region = sam_env_region(&o->env)};
    for (size_t i = 0; i < s->t.n; i++) {
        char err[1024];
        if (!(s->envps[i] = sam_env_build(&s->t.fns[i], &o->env, err, sizeof err))) {
            fprintf(stderr, "host local: %s\n", err);
            return -1;
        }
        if (!(s->pools[i] = sam_pool_new(&s->t.fns[i], s->envps[i], &po)))
            return -1;
    }
    return 0;
}

static void stop_pools(sam_server *s)
{
    for (size_t i = 0; s->pools && i < s->t.n; i++)
        sam_pool_free(s->pools[i]);
    for (size_t i = 0; s->envps && i < s->t.n; i++)
        sam_env_free(s->envps[i]);
    free(s->pools);
    free(s->envps);
}

static int serve_until_signal(sam_server *s, sam_front_fn fn, int fd, int port)
{
    front f = {s, fn};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, &f,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, sam_request_done, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "host local: cannot start the HTTP server\n");
        close(fd);
        return 1;
    }
    fprintf(stderr, "host local %s: listening on http://%s:%d (Ctrl-C stops)\n", s->o->command, s->o->host, port);
    if (strcmp(s->o->command, "start-api") == 0)
        sam_apigw_print_routes(s);
    else
        for (size_t i = 0; i < s->t.n; i++)
            fprintf(stderr, "  POST /2015-03-31/functions/%s/invocations\n", s->t.fns[i].id);
    if (s->o->warm)
        for (size_t i = 0; i < s->t.n; i++)
            sam_pool_warm(s->pools[i]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "host local: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    /* Waiting requests are answered first, so the HTTP threads can end. */
    for (size_t i = 0; i < s->t.n; i++)
        sam_pool_close(s->pools[i]);
    MHD_stop_daemon(d);
    return 0;
}

int sam_serve(const sam_options *o)
{
    sam_server s = {.o = o};
    if (sam_load_functions(o, &s.t) < 0)
        return 2;
    int rc = 1, port = 0;
    sam_front_fn fn = strcmp(o->command, "start-api") == 0 ? sam_apigw_serve : sam_lambda_api_serve;
    if (fn == sam_apigw_serve && sam_apigw_check_routes(&s) < 0) {
        rc = 2;
        goto done;
    }
    /* SIGINT and SIGTERM are taken by sigwait only; every thread started below inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int fd = listen_on(o->host, o->port, &port);
    if (fd < 0)
        goto done;
    if (start_pools(&s) < 0) {
        close(fd);
        goto done;
    }
    rc = serve_until_signal(&s, fn, fd, port);
done:
    stop_pools(&s);
    sam_template_free(&s.t);
    return rc;
}
