/* rapi_bench_server: a Runtime API server for benchmarking Lambda runtimes.
 *
 * Single-threaded, poll()-driven, HTTP/1.1 keep-alive, libc only. It implements just enough of the
 * Runtime API (spec/runtime-api.md §1-§2) to drive a runtime through a loop of invocations:
 *   GET  /2018-06-01/runtime/invocation/next           -> 200, the fixed event + §2.1 headers
 *   POST /2018-06-01/runtime/invocation/{id}/response  -> 202 {"status":"OK"}
 *   POST /2018-06-01/runtime/invocation/{id}/error     -> 202, counted as an error
 *   POST /2018-06-01/runtime/init/error                -> 202, the run fails
 * Request bodies are read by Content-Length or chunked; "Expect: 100-continue" is answered.
 *
 * It launches the runtime itself (posix_spawn of the command after `--`, with
 * AWS_LAMBDA_RUNTIME_API pointing at itself), so it can time exec -> first GET next, and it reads
 * /proc/<pid>/status VmHWM of the runtime before killing it (and, in cold mode, how many shared
 * objects /proc/<pid>/maps shows at the first GET next). One JSON line goes to stdout.
 *
 * Modes:
 *   loop (default)  serve N invocations; time the loop after W warm-up invokes
 *   --cold M        M times: spawn, wait for the first GET next, record, kill
 *   --exit M        M times: spawn, wait for exit; records spawn->exit time and ru_maxrss
 *                   (no Runtime API involved: `python3 -I -S -c pass`)
 * Timing is CLOCK_MONOTONIC. Pin this process with taskset: the runtime inherits the affinity.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

extern char **environ;

#define MAX_CONNS 32
#define RID_FMT "8476a536-e9f4-11e8-9739-%012llu"

/* ---------------------------------------------------------------- options and state */

static const char *opt_event = NULL;
static long opt_n = 1000, opt_warmup = 10, opt_cold = 0, opt_exit = 0;
static int opt_port = 0;
static const char *opt_cwd = NULL, *opt_log = "/dev/null", *opt_label = "";
static const char *opt_verify = "nonempty"; /* none | nonempty | echo */
static double opt_timeout = 300.0;
static int opt_term_sig = SIGKILL, opt_quiet = 0;
static char **opt_cmd = NULL;
static char *extra_env[64];
static int n_extra_env = 0;

static char *event = NULL;
static size_t event_len = 0;
static char *event_norm = NULL; /* event without insignificant whitespace (for --verify echo) */
static size_t event_norm_len = 0;

static int listen_fd = -1;
static char api_addr[64];

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
    size_t hdr_end;      /* 0 = headers not complete yet */
    size_t hdr_scan;     /* where to resume the search for \r\n\r\n */
    long long clen;      /* -1 = none */
    int chunked, expect100, sent100, close_after;
    size_t ck_pos, ck_body; /* chunked parse state: next chunk header offset, body bytes so far */
};
static struct conn conns[MAX_CONNS];
static int n_conns = 0;

/* per-runtime-run state */
static pid_t child = -1;
static int child_status = 0, child_exited = 0;
static double t_spawn, t_first_next, t_start, t_end;
static long long served = 0;   /* next replies sent */
static long long completed = 0;/* /response or /error received for the current invocation */
static int inflight = 0;
static char cur_rid[80];
static long long n_responses = 0, n_errors = 0, n_bad_id = 0, n_protocol = 0;
static long long n_verified = 0, n_mismatch = 0, n_len_mismatch = 0, n_empty = 0;
static long long resp_len_ref = -1, resp_bytes_last = 0;
static int init_error = 0;
static char first_error[512];
static long vmhwm_init_kb = -1, vmrss_init_kb = -1, vmhwm_kb = -1, vmrss_kb = -1;
static long shared_objects_init = -1;
static double *t_next = NULL; /* arrival of each GET next, for the per-invoke distribution */
static int run_done = 0;
static double ru_start_cpu, ru_end_cpu, ru_start_user, ru_end_user;

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_user;
static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cpu_user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6;
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rapi_bench_server: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (child > 0)
        kill(child, SIGKILL);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

/* ---------------------------------------------------------------- helpers */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, long n, double p)
{
    if (n <= 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_dbl);
    long i = (long)(p * (n - 1) + 0.5);
    return v[i];
}

static double median(double *v, long n) { return percentile(v, n, 0.5); }

/* Copies `s` without JSON whitespace outside strings; returns the new length. */
static size_t json_strip(const char *s, size_t n, char *out)
{
    size_t o = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            out[o++] = ch;
            if (ch == '\\' && i + 1 < n)
                out[o++] = s[++i];
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
            out[o++] = ch;
        } else if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') {
            out[o++] = ch;
        }
    }
    return o;
}

static int read_status_kb(pid_t pid, const char *field, long *out)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strstr(buf, field);
    if (!p)
        return -1;
    *out = strtol(p + strlen(field), NULL, 10);
    return 0;
}

/* True for a mapped file whose name is a shared object's: libc.so.6, _json.cpython-313-x86_64-linux-gnu.so */
static int is_shared_object(const char *path)
{
    const char *base = strrchr(path, '/');
    const char *so = strstr(base ? base : path, ".so");
    return so && (so[3] == '\0' || so[3] == '.');
}

#define MAX_MAPPED_OBJECTS 512

/* How many distinct shared objects process `pid` has mapped (-1 if its maps cannot be read). */
static long count_shared_objects(pid_t pid)
{
    char path[64], line[4096];
    static char seen[MAX_MAPPED_OBJECTS][256];
    long n = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        char *file = strchr(line, '/');
        if (!file)
            continue;
        file[strcspn(file, "\n")] = '\0';
        if (!is_shared_object(file))
            continue;
        long i = 0;
        while (i < n && strcmp(seen[i], file) != 0)
            i++;
        if (i == n && n < MAX_MAPPED_OBJECTS)
            snprintf(seen[n++], sizeof seen[0], "%s", file);
    }
    fclose(f);
    return n;
}

static void read_rss(pid_t pid, long *hwm, long *rss)
{
    read_status_kb(pid, "VmHWM:", hwm);
    read_status_kb(pid, "VmRSS:", rss);
}

static void write_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* peer gone: the read side will notice */
        }
        while (cnt > 0 && (size_t)w >= iov->iov_len) {
            w -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= w;
        }
    }
}

static void send_simple(struct conn *c, int status, const char *reason, const char *body)
{
    char hdr[256];
    size_t bl = strlen(body);
    int hl = snprintf(hdr, sizeof hdr,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      status, reason, bl);
    struct iovec iov[2] = {{hdr, (size_t)hl}, {(void *)body, bl}};
    write_all(c->fd, iov, 2);
}

/* ---------------------------------------------------------------- the runtime process */

static void spawn_runtime(void)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, opt_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (opt_cwd)
        posix_spawn_file_actions_addchdir_np(&fa, opt_cwd);

    static char **envp = NULL;
    if (!envp) {
        size_t n = 0;
        while (environ[n])
            n++;
        envp = xrealloc(NULL, (n + n_extra_env + 2) * sizeof *envp);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (strncmp(environ[i], "AWS_LAMBDA_RUNTIME_API=", 23) != 0)
                envp[k++] = environ[i];
        for (int i = 0; i < n_extra_env; i++)
            envp[k++] = extra_env[i];
        static char api_env[96];
        snprintf(api_env, sizeof api_env, "AWS_LAMBDA_RUNTIME_API=%s", api_addr);
        envp[k++] = api_env;
        envp[k] = NULL;
    }
    child_exited = 0;
    child_status = 0;
    t_spawn = now_mono();
    int rc = posix_spawnp(&child, opt_cmd[0], &fa, NULL, opt_cmd, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        die("cannot spawn %s: %s", opt_cmd[0], strerror(rc));
}

static void close_conn(int i)
{
    close(conns[i].fd);
    free(conns[i].buf);
    conns[i] = conns[--n_conns];
}

static void close_all_conns(void)
{
    while (n_conns > 0)
        close_conn(0);
}

/* Stops the runtime: the chosen signal (SIGKILL, or SIGTERM so valgrind writes its output),
 * then SIGKILL after a grace period. */
static void stop_runtime(void)
{
    if (child <= 0)
        return;
    if (!child_exited) {
        kill(child, opt_term_sig);
        double deadline = now_mono() + (opt_term_sig == SIGKILL ? 10 : 120);
        for (;;) {
            pid_t r = waitpid(child, &child_status, WNOHANG);
            if (r == child)
                break;
            if (now_mono() > deadline) {
                kill(child, SIGKILL);
                waitpid(child, &child_status, 0);
                break;
            }
            usleep(opt_term_sig == SIGKILL ? 200 : 20000);
        }
    }
    child = -1;
    close_all_conns();
}

/* ---------------------------------------------------------------- request handling */

static void reply_next(struct conn *c)
{
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    long long deadline_ms = (long long)rt.tv_sec * 1000 + rt.tv_nsec / 1000000 + 900000;
    snprintf(cur_rid, sizeof cur_rid, RID_FMT, (unsigned long long)(served + 1));
    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr,
                      "HTTP/1.1 200 OK\r\n"
                      "Content-Type: application/json\r\n"
                      "Lambda-Runtime-Aws-Request-Id: %s\r\n"
                      "Lambda-Runtime-Deadline-Ms: %lld\r\n"
                      "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n"
                      "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      cur_rid, deadline_ms, event_len);
    struct iovec iov[2] = {{hdr, (size_t)hl}, {event, event_len}};
    served++;
    inflight = 1;
    write_all(c->fd, iov, 2);
}

static void on_next(struct conn *c)
{
    double t = now_mono();
    if (inflight) {
        n_protocol++;
        send_simple(c, 403, "Forbidden",
                    "{\"errorMessage\":\"next while an invocation is in flight\",\"errorType\":\"InvalidStateTransition\"}");
        return;
    }
    if (served == 0) {
        t_first_next = t;
        if (opt_cold) {
            read_rss(child, &vmhwm_init_kb, &vmrss_init_kb);
            shared_objects_init = count_shared_objects(child);
            run_done = 1;
            return;
        }
    }
    if (served == 0) {
        read_rss(child, &vmhwm_init_kb, &vmrss_init_kb);
        t = now_mono(); /* keep the /proc read out of the timed loop */
    }
    if (t_next)
        t_next[served] = t;
    if (served == opt_warmup) {
        t_start = t;
        ru_start_cpu = cpu_self();
        ru_start_user = cpu_user;
    }
    if (served >= opt_n) {
        t_end = t;
        ru_end_cpu = cpu_self();
        ru_end_user = cpu_user;
        read_rss(child, &vmhwm_kb, &vmrss_kb);
        run_done = 1;
        return;
    }
    reply_next(c);
}

static void check_body(const char *body, size_t blen)
{
    if (blen == 0) {
        n_empty++;
        return;
    }
    if (strcmp(opt_verify, "echo") != 0)
        return;
    /* Full check on warm-up invokes only (outside the timed window); sizes on the rest. */
    if (served <= opt_warmup || resp_len_ref < 0) {
        static char *norm = NULL;
        static size_t norm_cap = 0;
        if (norm_cap < blen) {
            norm_cap = blen;
            norm = xrealloc(norm, norm_cap);
        }
        size_t nl = json_strip(body, blen, norm);
        n_verified++;
        if (nl != event_norm_len || memcmp(norm, event_norm, nl) != 0) {
            n_mismatch++;
            if (!first_error[0])
                snprintf(first_error, sizeof first_error, "echo mismatch: %zu bytes (stripped %zu) vs event %zu (stripped %zu): %.200s",
                         blen, nl, event_len, event_norm_len, body);
        }
        if (resp_len_ref < 0)
            resp_len_ref = (long long)blen;
    }
    if ((long long)blen != resp_len_ref)
        n_len_mismatch++;
}

/* path is NUL-terminated; body may be anything */
static void handle_request(struct conn *c, const char *method, const char *path, char *body, size_t blen)
{
    static const char pfx[] = "/2018-06-01/runtime/";
    if (strncmp(path, pfx, sizeof pfx - 1) != 0) {
        send_simple(c, 404, "Not Found", "{\"errorMessage\":\"not found\",\"errorType\":\"NotFound\"}");
        return;
    }
    const char *p = path + sizeof pfx - 1;
    if (strcmp(method, "GET") == 0 && strcmp(p, "invocation/next") == 0) {
        on_next(c);
        return;
    }
    if (strcmp(method, "POST") == 0 && strcmp(p, "init/error") == 0) {
        init_error = 1;
        if (!first_error[0])
            snprintf(first_error, sizeof first_error, "init/error: %.*s", (int)(blen < 400 ? blen : 400), body);
        send_simple(c, 202, "Accepted", "{\"status\":\"OK\"}");
        return;
    }
    if (strcmp(method, "POST") == 0 && strncmp(p, "invocation/", 11) == 0) {
        const char *id = p + 11;
        const char *slash = strchr(id, '/');
        if (slash && (strcmp(slash, "/response") == 0 || strcmp(slash, "/error") == 0)) {
            size_t idl = slash - id;
            if (!inflight || idl != strlen(cur_rid) || memcmp(id, cur_rid, idl) != 0) {
                n_bad_id++;
                send_simple(c, 400, "Bad Request", "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}");
                return;
            }
            inflight = 0;
            completed++;
            resp_bytes_last = (long long)blen;
            if (slash[1] == 'r') {
                n_responses++;
                check_body(body, blen);
            } else {
                n_errors++;
                if (!first_error[0])
                    snprintf(first_error, sizeof first_error, "invocation/error: %.*s", (int)(blen < 400 ? blen : 400), body);
            }
            send_simple(c, 202, "Accepted", "{\"status\":\"OK\"}");
            return;
        }
    }
    send_simple(c, 404, "Not Found", "{\"errorMessage\":\"not found\",\"errorType\":\"NotFound\"}");
}

static int hdr_is(const char *line, size_t llen, const char *name, const char **val, size_t *vlen)
{
    size_t nl = strlen(name);
    if (llen <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return 0;
    const char *v = line + nl + 1, *e = line + llen;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *val = v;
    *vlen = e - v;
    return 1;
}

/* Parses the header block buf[0..hdr_end). Returns -1 on a malformed request. */
static int parse_headers(struct conn *c)
{
    c->clen = -1;
    c->chunked = c->expect100 = c->sent100 = c->close_after = 0;
    char *p = memchr(c->buf, '\n', c->hdr_end);
    if (!p)
        return -1;
    char *line = p + 1, *end = c->buf + c->hdr_end;
    while (line < end) {
        char *nl = memchr(line, '\n', end - line);
        if (!nl)
            break;
        size_t llen = nl - line;
        if (llen && line[llen - 1] == '\r')
            llen--;
        if (llen == 0)
            break;
        const char *v;
        size_t vl;
        if (hdr_is(line, llen, "Content-Length", &v, &vl))
            c->clen = strtoll(v, NULL, 10);
        else if (hdr_is(line, llen, "Transfer-Encoding", &v, &vl))
            c->chunked = memmem(v, vl, "chunked", 7) != NULL;
        else if (hdr_is(line, llen, "Expect", &v, &vl))
            c->expect100 = vl >= 12 && strncasecmp(v, "100-continue", 12) == 0;
        else if (hdr_is(line, llen, "Connection", &v, &vl))
            c->close_after = vl >= 5 && strncasecmp(v, "close", 5) == 0;
        line = nl + 1;
    }
    if (c->chunked)
        c->clen = -1;
    c->ck_pos = c->hdr_end;
    c->ck_body = 0;
    return 0;
}

/* Advances the chunked parser. 1 = body complete (*consumed set, body de-chunked in place at
 * hdr_end with length ck_body), 0 = need more, -1 = malformed. */
static int chunked_step(struct conn *c, size_t *consumed)
{
    for (;;) {
        char *start = c->buf + c->ck_pos, *end = c->buf + c->len;
        char *nl = memchr(start, '\n', end - start);
        if (!nl)
            return 0;
        char *q;
        unsigned long long sz = strtoull(start, &q, 16);
        if (q == start)
            return -1;
        size_t data = (nl + 1) - c->buf;
        if (sz == 0) {
            /* trailers until an empty line */
            size_t pos = data;
            for (;;) {
                char *e = memchr(c->buf + pos, '\n', c->len - pos);
                if (!e)
                    return 0;
                size_t ll = e - (c->buf + pos);
                if (ll == 0 || (ll == 1 && c->buf[pos] == '\r')) {
                    *consumed = (e + 1) - c->buf;
                    return 1;
                }
                pos = (e + 1) - c->buf;
            }
        }
        if (c->len < data + sz + 2)
            return 0;
        /* move the chunk data down to the de-chunked body; the headers of later chunks are
         * after it, so nothing unread is overwritten */
        memmove(c->buf + c->hdr_end + c->ck_body, c->buf + data, sz);
        c->ck_body += sz;
        c->ck_pos = data + sz + 2;
    }
}

static void reset_parse(struct conn *c, size_t consumed)
{
    size_t rest = c->len - consumed;
    if (rest)
        memmove(c->buf, c->buf + consumed, rest);
    c->len = rest;
    c->hdr_end = 0;
    c->hdr_scan = 0;
}

/* Processes every complete request in the connection's buffer. Returns -1 to close. */
static int process(struct conn *c)
{
    while (!run_done) {
        if (!c->hdr_end) {
            size_t from = c->hdr_scan > 3 ? c->hdr_scan - 3 : 0;
            char *e = c->len > from ? memmem(c->buf + from, c->len - from, "\r\n\r\n", 4) : NULL;
            if (!e) {
                c->hdr_scan = c->len;
                return 0;
            }
            c->hdr_end = (e + 4) - c->buf;
            if (parse_headers(c) < 0)
                return -1;
        }
        size_t consumed, blen;
        char *body = c->buf + c->hdr_end;
        if (c->chunked) {
            int r = chunked_step(c, &consumed);
            if (r < 0)
                return -1;
            if (r == 0)
                goto need_more;
            blen = c->ck_body;
        } else {
            blen = c->clen > 0 ? (size_t)c->clen : 0;
            if (c->len < c->hdr_end + blen) {
                if (c->cap < c->hdr_end + blen + 1) {
                    c->cap = c->hdr_end + blen + 1;
                    c->buf = xrealloc(c->buf, c->cap);
                    body = c->buf + c->hdr_end;
                }
                goto need_more;
            }
            consumed = c->hdr_end + blen;
        }
        /* request line: METHOD SP PATH SP VERSION */
        char method[16], path[1024];
        {
            char *sp1 = memchr(c->buf, ' ', c->hdr_end);
            if (!sp1 || sp1 - c->buf >= (long)sizeof method)
                return -1;
            char *sp2 = memchr(sp1 + 1, ' ', c->hdr_end - (sp1 + 1 - c->buf));
            if (!sp2 || sp2 - sp1 - 1 >= (long)sizeof path)
                return -1;
            memcpy(method, c->buf, sp1 - c->buf);
            method[sp1 - c->buf] = 0;
            memcpy(path, sp1 + 1, sp2 - sp1 - 1);
            path[sp2 - sp1 - 1] = 0;
        }
        int close_after = c->close_after;
        handle_request(c, method, path, body, blen);
        reset_parse(c, consumed);
        if (close_after)
            return -1;
        continue;
    need_more:
        if (c->expect100 && !c->sent100) {
            struct iovec iov = {"HTTP/1.1 100 Continue\r\n\r\n", 25};
            write_all(c->fd, &iov, 1);
            c->sent100 = 1;
        }
        return 0;
    }
    return 0;
}

/* One round of the event loop; returns when run_done, the child exits, or the timeout hits. */
static int serve_until_done(double deadline)
{
    struct pollfd pfd[MAX_CONNS + 1];
    while (!run_done) {
        int np = 0;
        pfd[np].fd = listen_fd;
        pfd[np++].events = POLLIN;
        for (int i = 0; i < n_conns; i++) {
            pfd[np].fd = conns[i].fd;
            pfd[np++].events = POLLIN;
        }
        int r = poll(pfd, np, 100);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("poll: %s", strerror(errno));
        }
        if (r == 0) {
            if (child > 0 && waitpid(child, &child_status, WNOHANG) == child) {
                child_exited = 1;
                return -1;
            }
            if (now_mono() > deadline)
                return -2;
            continue;
        }
        /* connections first (indices shift when one closes, so walk the pollfd array) */
        for (int k = np - 1; k >= 1 && !run_done; k--) {
            if (!pfd[k].revents)
                continue;
            int i;
            for (i = 0; i < n_conns && conns[i].fd != pfd[k].fd; i++)
                ;
            if (i == n_conns)
                continue;
            struct conn *c = &conns[i];
            if (c->cap - c->len < 65536) {
                c->cap = c->cap * 2 > c->len + 65536 ? c->cap * 2 : c->len + 65536;
                c->buf = xrealloc(c->buf, c->cap);
            }
            ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
            if (n <= 0) {
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                    continue;
                close_conn(i);
                continue;
            }
            c->len += n;
            if (process(c) < 0)
                close_conn(i);
        }
        if (pfd[0].revents & POLLIN && !run_done) {
            int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                if (n_conns == MAX_CONNS) {
                    close(fd);
                } else {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = &conns[n_conns++];
                    memset(c, 0, sizeof *c);
                    c->fd = fd;
                    c->cap = 65536;
                    c->buf = xrealloc(NULL, c->cap);
                }
            }
        }
    }
    return 0;
}

static void reset_run(void)
{
    served = completed = 0;
    inflight = 0;
    run_done = 0;
    vmhwm_init_kb = vmrss_init_kb = vmhwm_kb = vmrss_kb = -1;
    shared_objects_init = -1;
}

static const char *exit_desc(void)
{
    static char b[64];
    if (WIFEXITED(child_status))
        snprintf(b, sizeof b, "exit %d", WEXITSTATUS(child_status));
    else if (WIFSIGNALED(child_status))
        snprintf(b, sizeof b, "signal %d", WTERMSIG(child_status));
    else
        snprintf(b, sizeof b, "status %d", child_status);
    return b;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void print_arr(FILE *f, const char *name, double *v, long n, double scale)
{
    fprintf(f, ",\"%s\":[", name);
    for (long i = 0; i < n; i++)
        fprintf(f, "%s%.1f", i ? "," : "", v[i] * scale);
    fputc(']', f);
}

/* ---------------------------------------------------------------- modes */

static int mode_exit(void)
{
    double *t = xrealloc(NULL, opt_exit * sizeof *t);
    double *rss = xrealloc(NULL, opt_exit * sizeof *rss);
    int fails = 0;
    for (long i = 0; i < opt_exit; i++) {
        spawn_runtime();
        struct rusage ru;
        if (wait4(child, &child_status, 0, &ru) < 0)
            die("wait4: %s", strerror(errno));
        t[i] = now_mono() - t_spawn;
        rss[i] = ru.ru_maxrss;
        if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0)
            fails++;
        child = -1;
    }
    printf("{\"mode\":\"exit\",\"label\":");
    json_str(stdout, opt_label);
    printf(",\"ok\":%s,\"runs\":%ld,\"failures\":%d", fails ? "false" : "true", opt_exit, fails);
    print_arr(stdout, "exit_us", t, opt_exit, 1e6);
    printf(",\"median_us\":%.1f,\"maxrss_kb_median\":%.0f}\n", median(t, opt_exit) * 1e6, median(rss, opt_exit));
    return fails ? 1 : 0;
}

static int mode_cold(void)
{
    double *t = xrealloc(NULL, opt_cold * sizeof *t);
    double *hwm = xrealloc(NULL, opt_cold * sizeof *hwm);
    double *rss = xrealloc(NULL, opt_cold * sizeof *rss);
    double *sos = xrealloc(NULL, opt_cold * sizeof *sos);
    const char *fail = NULL;
    long done = 0;
    for (long i = 0; i < opt_cold; i++) {
        reset_run();
        spawn_runtime();
        int r = serve_until_done(now_mono() + opt_timeout);
        if (r < 0) {
            fail = r == -1 ? (init_error ? "init_error" : "runtime exited before next") : "timeout";
            stop_runtime();
            break;
        }
        t[i] = t_first_next - t_spawn;
        hwm[i] = vmhwm_init_kb;
        rss[i] = vmrss_init_kb;
        sos[i] = shared_objects_init;
        stop_runtime();
        done++;
    }
    printf("{\"mode\":\"cold\",\"label\":");
    json_str(stdout, opt_label);
    printf(",\"ok\":%s,\"runs\":%ld", fail ? "false" : "true", done);
    if (fail) {
        printf(",\"reason\":");
        json_str(stdout, fail);
        printf(",\"runtime_exit\":\"%s\",\"first_error\":", exit_desc());
        json_str(stdout, first_error);
    }
    print_arr(stdout, "cold_us", t, done, 1e6);
    print_arr(stdout, "vmhwm_init_kb", hwm, done, 1);
    printf(",\"median_us\":%.1f,\"vmhwm_init_kb_median\":%.0f,\"vmrss_init_kb_median\":%.0f,"
           "\"shared_objects_init_median\":%.0f}\n",
           median(t, done) * 1e6, median(hwm, done), median(rss, done), median(sos, done));
    return fail ? 1 : 0;
}

static int mode_loop(void)
{
    t_next = xrealloc(NULL, (opt_n + 1) * sizeof *t_next);
    reset_run();
    spawn_runtime();
    int r = serve_until_done(now_mono() + opt_timeout);
    const char *fail = NULL;
    if (r == -1)
        fail = init_error ? "init_error" : "runtime exited";
    else if (r == -2)
        fail = "timeout";
    stop_runtime();
    long timed = opt_n - opt_warmup;
    if (!fail && (n_errors || n_bad_id || n_protocol || n_mismatch || n_len_mismatch || n_empty))
        fail = n_errors ? "invocation errors" : "bad responses";
    printf("{\"mode\":\"loop\",\"label\":");
    json_str(stdout, opt_label);
    printf(",\"ok\":%s", fail ? "false" : "true");
    if (fail) {
        printf(",\"reason\":");
        json_str(stdout, fail);
        printf(",\"runtime_exit\":\"%s\"", exit_desc());
    }
    printf(",\"n\":%ld,\"warmup\":%ld,\"served\":%lld,\"responses\":%lld,\"errors\":%lld,\"bad_id\":%lld,"
           "\"protocol_errors\":%lld,\"verify\":\"%s\",\"verified\":%lld,\"mismatch\":%lld,\"len_mismatch\":%lld,"
           "\"empty\":%lld,\"event_bytes\":%zu,\"resp_bytes\":%lld",
           opt_n, opt_warmup, served, n_responses, n_errors, n_bad_id, n_protocol, opt_verify, n_verified,
           n_mismatch, n_len_mismatch, n_empty, event_len, resp_bytes_last);
    printf(",\"first_error\":");
    json_str(stdout, first_error);
    if (served > 0)
        printf(",\"cold_start_us\":%.1f", (t_first_next - t_spawn) * 1e6);
    printf(",\"vmhwm_init_kb\":%ld,\"vmrss_init_kb\":%ld", vmhwm_init_kb, vmrss_init_kb);
    if (!fail && timed > 0) {
        double total = t_end - t_start;
        double *cyc = xrealloc(NULL, timed * sizeof *cyc);
        for (long i = 0; i < timed; i++)
            cyc[i] = t_next[opt_warmup + i + 1] - t_next[opt_warmup + i];
        printf(",\"loop_s\":%.6f,\"per_invoke_us\":%.2f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.1f"
               ",\"server_cpu_us_per_invoke\":%.2f,\"server_user_us_per_invoke\":%.2f,\"vmhwm_kb\":%ld,\"vmrss_kb\":%ld",
               total, total / timed * 1e6, percentile(cyc, timed, 0.5) * 1e6, percentile(cyc, timed, 0.99) * 1e6,
               cyc[timed - 1] * 1e6, (ru_end_cpu - ru_start_cpu) / timed * 1e6,
               (ru_end_user - ru_start_user) / timed * 1e6, vmhwm_kb, vmrss_kb);
        free(cyc);
    }
    printf("}\n");
    if (fail && !opt_quiet && first_error[0])
        fprintf(stderr, "rapi_bench_server: %s: %s\n", fail, first_error);
    return fail ? 1 : 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rapi_bench_server [options] -- command [args...]\n"
            "  --event FILE     event body served by GET next (default: {})\n"
            "  -n N             invocations to serve (loop mode, default 1000)\n"
            "  -w W             warm-up invocations excluded from the timing (default 10)\n"
            "  --cold M         cold-start mode: M starts, each ends at the first GET next\n"
            "  --exit M         exit mode: M starts, each timed from spawn to exit (no API)\n"
            "  --verify MODE    none | nonempty (default) | echo (response == event, modulo whitespace)\n"
            "  --cwd DIR        runtime working directory\n"
            "  -e NAME=VALUE    extra environment variable for the runtime (repeatable)\n"
            "  --log FILE       runtime stdout+stderr (default /dev/null)\n"
            "  --term           stop the runtime with SIGTERM (so valgrind writes its output)\n"
            "  --port P         listen port (default: any free one)\n"
            "  --timeout SEC    give up after SEC seconds per run (default 300)\n"
            "  --label TEXT     copied to the result line\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage(), (char *)NULL))
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--event") == 0)
            opt_event = NEXT();
        else if (strcmp(a, "-n") == 0)
            opt_n = atol(NEXT());
        else if (strcmp(a, "-w") == 0)
            opt_warmup = atol(NEXT());
        else if (strcmp(a, "--cold") == 0)
            opt_cold = atol(NEXT());
        else if (strcmp(a, "--exit") == 0)
            opt_exit = atol(NEXT());
        else if (strcmp(a, "--verify") == 0)
            opt_verify = NEXT();
        else if (strcmp(a, "--cwd") == 0)
            opt_cwd = NEXT();
        else if (strcmp(a, "-e") == 0) {
            if (n_extra_env == 63)
                die("too many -e");
            extra_env[n_extra_env++] = NEXT();
        } else if (strcmp(a, "--log") == 0)
            opt_log = NEXT();
        else if (strcmp(a, "--term") == 0)
            opt_term_sig = SIGTERM;
        else if (strcmp(a, "--port") == 0)
            opt_port = atoi(NEXT());
        else if (strcmp(a, "--timeout") == 0)
            opt_timeout = atof(NEXT());
        else if (strcmp(a, "--label") == 0)
            opt_label = NEXT();
        else if (strcmp(a, "--quiet") == 0)
            opt_quiet = 1;
        else
            usage();
    }
    if (i >= argc)
        usage();
    opt_cmd = argv + i;
    if (opt_warmup >= opt_n && !opt_cold && !opt_exit)
        die("-w must be below -n");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);

    if (opt_exit)
        return mode_exit();

    if (opt_event) {
        FILE *f = fopen(opt_event, "rb");
        if (!f)
            die("cannot open %s: %s", opt_event, strerror(errno));
        struct stat st;
        fstat(fileno(f), &st);
        event_len = st.st_size;
        event = xrealloc(NULL, event_len + 1);
        if (fread(event, 1, event_len, f) != event_len)
            die("cannot read %s", opt_event);
        fclose(f);
        /* a trailing newline from an editor is not part of the event */
        while (event_len && (event[event_len - 1] == '\n' || event[event_len - 1] == '\r'))
            event_len--;
    } else {
        event = strdup("{}");
        event_len = 2;
    }
    event_norm = xrealloc(NULL, event_len + 1);
    event_norm_len = json_strip(event, event_len, event_norm);
    if (strcmp(opt_verify, "echo") == 0 && opt_warmup < 1 && !opt_cold)
        die("--verify echo needs at least one warm-up invocation (-w)");

    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(opt_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("bind: %s", strerror(errno));
    if (listen(listen_fd, 64) < 0)
        die("listen: %s", strerror(errno));
    socklen_t sl = sizeof sa;
    getsockname(listen_fd, (struct sockaddr *)&sa, &sl);
    snprintf(api_addr, sizeof api_addr, "127.0.0.1:%d", ntohs(sa.sin_port));

    int rc = opt_cold ? mode_cold() : mode_loop();
    fflush(stdout);
    return rc;
}
