/* sam_pool: a local function's worker processes, its queue and Lambda's timeout rule. */
#include "sam_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sam_env.h"
#include "sam_rapid.h"
#include "sam_watch.h"

#define LOCAL_ACCOUNT_ID "123456789012"
#define DEBUG_DEADLINE_MS (86400.0 * 1000.0) /* --debug: a day, i.e. no timeout */
#define LOG_CHUNK 65536
#define MAX_REGISTERED 1024                  /* live worker processes across all pools */

typedef enum { W_STARTING, W_IDLE, W_BUSY, W_RETIRED } worker_state;

struct sam_worker {
    sam_pool *pool;
    pid_t pid;
    struct MHD_Daemon *rapid;
    int log_fd;                 /* read end of the worker's stdout+stderr; -1 under --debug */
    pthread_t log_thread;
    int has_log_thread;
    pthread_mutex_t log_lock;   /* one reader of log_fd at a time; taken before the pool's lock */
    worker_state state;
    int generation;             /* the code version it runs */
    int served;                 /* invocations taken */
    double spawned_ms, init_ms; /* init_ms: spawn to the first next, -1 before */
    long max_mem_mb;
    buf_t init_error;
    sam_invocation *current;
    sam_worker *next;
};

struct sam_pool {
    const sam_function *f;
    char *const *envp;
    sam_pool_options o;
    pthread_mutex_t lock;
    pthread_cond_t work;        /* the queue, a worker's state or the worker list changed */
    sam_invocation *head, *tail;
    size_t queued;
    sam_worker *workers;
    int generation;
    int closing;
    int callers;                /* threads inside sam_pool_invoke; sam_pool_free waits for 0 */
    sam_watch watch;
    char arn[512];
    const char *exe;            /* this binary (sam_env_self_exe), resolved before any fork */
};

/* pid -> worker, for the reaper. Lock order: a pool's lock, then reg_lock; never the reverse. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_cond = PTHREAD_COND_INITIALIZER;
static struct { pid_t pid; sam_worker *w; } reg[MAX_REGISTERED];
static int reg_n;
static pthread_once_t helpers_once = PTHREAD_ONCE_INIT;

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void random_bytes(unsigned char *b, size_t n)
{
    if (getrandom(b, n, 0) != (ssize_t)n)
        for (size_t i = 0; i < n; i++)
            b[i] = (unsigned char)rand();
}

static void new_request_id(char out[40])
{
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (b[6] & 0x0f) | 0x40; /* a version 4 UUID, as Lambda's request ids are */
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* X-Ray's format: Root=1-<epoch hex>-<96 bits>;Parent=<64 bits>;Sampled=0. */
static void new_trace_id(char *out, size_t len)
{
    unsigned char b[20];
    random_bytes(b, sizeof b);
    char hex[41];
    for (int i = 0; i < 20; i++)
        sprintf(hex + 2 * i, "%02x", b[i]);
    snprintf(out, len, "Root=1-%08lx-%.24s;Parent=%.16s;Sampled=0", (unsigned long)time(NULL), hex, hex + 24);
}

void sam_invocation_init(sam_invocation *inv)
{
    memset(inv, 0, sizeof *inv);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&inv->cond, &a);
    pthread_condattr_destroy(&a);
}

void sam_invocation_free(sam_invocation *inv)
{
    buf_free(&inv->result);
    buf_free(&inv->log);
    buf_free(&inv->pending);
    pthread_cond_destroy(&inv->cond);
}

const sam_function *sam_pool_function(const sam_pool *p)
{
    return p->f;
}

/* ---- log lines -------------------------------------------------------------------------- */

static void emit(sam_invocation *inv, const char *text)
{
    fputs(text, stderr);
    if (inv && inv->want_log)
        buf_append_str(&inv->log, text);
}

static long peak_rss_mb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb < 0 ? -1 : (kb + 1023) / 1024;
}

/* END and REPORT, then the waiter is woken. Pool lock held. */
static void complete(sam_pool *p, sam_worker *w, sam_invocation *inv, const char *status)
{
    double dur = inv->started ? mono_ms() - inv->start_ms : 0;
    long mem = w ? peak_rss_mb(w->pid) : -1;
    if (w && mem > 0)
        w->max_mem_mb = mem;
    char init[64] = "", st[64] = "", line[512];
    if (w && w->served == 1 && w->init_ms >= 0)
        snprintf(init, sizeof init, "\tInit Duration: %.2f ms", w->init_ms);
    if (status)
        snprintf(st, sizeof st, "\tStatus: %s", status);
    long long billed = (long long)dur + ((double)(long long)dur < dur);
    snprintf(line, sizeof line,
             "END RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %lld ms\t"
             "Memory Size: %d MB\tMax Memory Used: %ld MB%s%s\n",
             inv->request_id, inv->request_id, dur, billed, p->f->memory_mb, w ? w->max_mem_mb : 0L, init, st);
    emit(inv, line);
    inv->done = 1;
    pthread_cond_broadcast(&inv->cond);
}

static void fail_with(sam_pool *p, sam_worker *w, sam_invocation *inv, const char *type, const char *msg,
                      const char *status)
{
    json_t *doc = json_pack("{s:s, s:s}", "errorMessage", msg, "errorType", type);
    char *text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER) : NULL;
    buf_reset(&inv->result);
    buf_append_str(&inv->result, text ? text : "{}");
    inv->is_error = 1;
    free(text);
    json_decref(doc);
    complete(p, w, inv, status);
}

/* ---- the worker's output ---------------------------------------------------------------- */

/* Reads what the worker wrote so far: to the terminal, and to its invocation's log.
 * log_lock held. -1 at end of file. */
static int drain_locked(sam_worker *w)
{
    char chunk[LOG_CHUNK];
    for (;;) {
        ssize_t n = read(w->log_fd, chunk, sizeof chunk);
        if (n == 0)
            return -1;
        if (n < 0)
            return errno == EINTR ? 0 : (errno == EAGAIN ? 0 : -1);
        ssize_t off = 0;
        while (off < n) {
            ssize_t k = write(2, chunk + off, (size_t)(n - off));
            if (k <= 0 && errno != EINTR)
                break;
            off += k > 0 ? k : 0;
        }
        pthread_mutex_lock(&w->pool->lock);
        if (w->current && w->current->want_log)
            buf_append(&w->current->log, chunk, (size_t)n);
        pthread_mutex_unlock(&w->pool->lock);
    }
}

static void drain(sam_worker *w)
{
    if (w->log_fd < 0)
        return;
    pthread_mutex_lock(&w->log_lock);
    drain_locked(w);
    pthread_mutex_unlock(&w->log_lock);
}

static void *log_main(void *arg)
{
    sam_worker *w = arg;
    for (;;) {
        struct pollfd pfd = {.fd = w->log_fd, .events = POLLIN};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            break;
        pthread_mutex_lock(&w->log_lock);
        int rc = drain_locked(w);
        pthread_mutex_unlock(&w->log_lock);
        if (rc < 0)
            break;
    }
    return NULL;
}

/* ---- workers -------------------------------------------------------------------------- */

static void retire(sam_worker *w)
{
    if (w->state != W_RETIRED && w->pid > 0)
        kill(w->pid, SIGKILL);
    w->state = W_RETIRED;
}

static int stale(const sam_worker *w)
{
    return w->generation != w->pool->generation;
}

/* The child, between fork and exec: async-signal-safe calls only. */
static void exec_worker(const sam_pool *p, int log_w, int devnull, char *const *envp)
{
    if (!p->o.debug) {
        setpgid(0, 0); /* Ctrl-C reaches the server, which then ends its workers */
        dup2(devnull, 0);
        dup2(log_w, 1);
        dup2(log_w, 2);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (chdir(p->f->code_dir) < 0)
        _exit(126);
    char *argv[] = {"host", NULL};
    execve(p->exe, argv, envp);
    _exit(127);
}

/* The pool's environment plus AWS_LAMBDA_RUNTIME_API; only the array and that entry are owned. */
static char **worker_env(const sam_pool *p, int port, char *api, size_t apilen)
{
    size_t n = 0;
    while (p->envp[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env)
        return NULL;
    memcpy(env, p->envp, n * sizeof *env);
    snprintf(api, apilen, "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", port);
    env[n] = api;
    return env;
}

static void *reaper_main(void *arg);

/* Workers are forked by one long-lived thread: PR_SET_PDEATHSIG fires when the *thread*
 * that forked ends, and the HTTP threads end with their connections. */
typedef struct {
    const sam_pool *pool;
    sam_worker *w;
    int log_w, devnull;
    char **env;
    int done;
} fork_request;

static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fork_cond = PTHREAD_COND_INITIALIZER;
static fork_request *fork_pending;

static void *forker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fork_lock);
    for (;;) {
        while (!fork_pending)
            pthread_cond_wait(&fork_cond, &fork_lock);
        fork_request *r = fork_pending;
        pthread_mutex_lock(&reg_lock); /* the reaper finds the pid registered */
        r->w->pid = reg_n < MAX_REGISTERED ? fork() : -1;
        if (r->w->pid == 0)
            exec_worker(r->pool, r->log_w, r->devnull, r->env);
        if (r->w->pid > 0) {
            reg[reg_n].pid = r->w->pid;
            reg[reg_n++].w = r->w;
            pthread_cond_signal(&reg_cond);
        }
        pthread_mutex_unlock(&reg_lock);
        r->done = 1;
        fork_pending = NULL;
        pthread_cond_broadcast(&fork_cond);
    }
    return NULL;
}

static void start_helpers(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, reaper_main, NULL) == 0)
        pthread_detach(t);
    if (pthread_create(&t, NULL, forker_main, NULL) == 0)
        pthread_detach(t);
}

static void fork_worker(const sam_pool *p, sam_worker *w, int log_w, int devnull, char **env)
{
    fork_request r = {p, w, log_w, devnull, env, 0};
    pthread_mutex_lock(&fork_lock);
    while (fork_pending)
        pthread_cond_wait(&fork_cond, &fork_lock);
    fork_pending = &r;
    pthread_cond_broadcast(&fork_cond);
    while (!r.done)
        pthread_cond_wait(&fork_cond, &fork_lock);
    pthread_mutex_unlock(&fork_lock);
}

static void free_worker(sam_worker *w)
{
    if (w->rapid)
        MHD_stop_daemon(w->rapid);
    if (w->has_log_thread)
        pthread_join(w->log_thread, NULL);
    if (w->log_fd >= 0)
        close(w->log_fd);
    pthread_mutex_destroy(&w->log_lock);
    buf_free(&w->init_error);
    free(w);
}

/* Starts one worker process. Pool lock held. */
static int spawn(sam_pool *p)
{
    pthread_once(&helpers_once, start_helpers);
    sam_worker *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->pool = p;
    w->log_fd = -1;
    w->state = W_STARTING;
    w->generation = p->generation;
    w->init_ms = -1;
    w->spawned_ms = mono_ms();
    pthread_mutex_init(&w->log_lock, NULL);
    int port = 0, fds[2] = {-1, -1}, devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char api[64];
    char **env = NULL;
    if (!(w->rapid = sam_rapid_start(w, &port)) || !(env = worker_env(p, port, api, sizeof api)))
        goto err;
    if (!p->o.debug && pipe2(fds, O_CLOEXEC) < 0)
        goto err;
    fork_worker(p, w, fds[1], devnull, env);
    if (w->pid < 0)
        goto err;
    free(env);
    close(devnull);
    if (fds[1] >= 0)
        close(fds[1]);
    w->log_fd = fds[0];
    if (w->log_fd >= 0) {
        fcntl(w->log_fd, F_SETFL, O_NONBLOCK);
        w->has_log_thread = pthread_create(&w->log_thread, NULL, log_main, w) == 0;
    }
    w->next = p->workers;
    p->workers = w;
    return 0;
err:
    fprintf(stderr, "host local: %s: cannot start a worker: %s\n", p->f->id, strerror(errno));
    free(env);
    if (devnull >= 0)
        close(devnull);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    free_worker(w);
    return -1;
}

static sam_invocation *pop(sam_pool *p)
{
    sam_invocation *inv = p->head;
    if (inv) {
        p->head = inv->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        inv->next = NULL;
    }
    return inv;
}

/* Enough workers for the queue, up to max_workers. Pool lock held. */
static void scale(sam_pool *p)
{
    size_t available = 0, live = 0;
    for (sam_worker *w = p->workers; w; w = w->next) {
        if (w->state == W_RETIRED)
            continue;
        live++;
        if (!stale(w) && (w->state == W_STARTING || w->state == W_IDLE))
            available++;
    }
    while (p->queued > available && live < (size_t)p->o.max_workers && !p->closing) {
        if (spawn(p) < 0) {
            if (live == 0) /* nothing will ever take them */
                for (sam_invocation *inv; (inv = pop(p));)
                    fail_with(p, NULL, inv, "Runtime.Unknown", "host local could not start a worker", NULL);
            return;
        }
        available++;
        live++;
    }
}

/* A reaped worker: its invocation (or, if it died in init, the first queued one) gets the error. */
static void worker_exited(sam_worker *w, int status)
{
    sam_pool *p = w->pool;
    pthread_mutex_lock(&p->lock);
    int was_retired = w->state == W_RETIRED;
    w->state = W_RETIRED;
    char msg[256];
    snprintf(msg, sizeof msg, "Runtime exited with error: %s %d",
             WIFSIGNALED(status) ? "signal" : "exit status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    sam_invocation *inv = w->current;
    w->current = NULL;
    if (inv && !inv->done) {
        char full[400];
        snprintf(full, sizeof full, "RequestId: %s Error: %s", inv->request_id, msg);
        fail_with(p, w, inv, "Runtime.ExitError", full, "error");
    } else if (w->served == 0 && !was_retired && (inv = pop(p))) {
        if (w->init_error.len > 0) { /* Lambda answers the invoke with the init error */
            buf_reset(&inv->result);
            buf_append(&inv->result, w->init_error.data, w->init_error.len);
            inv->is_error = 1;
            inv->done = 1;
            pthread_cond_broadcast(&inv->cond);
        } else {
            fail_with(p, w, inv, "Runtime.ExitError", msg, NULL);
        }
    }
    sam_worker **pp = &p->workers;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (*pp)
        *pp = w->next;
    scale(p);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    free_worker(w);
}

static void *reaper_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&reg_lock);
        while (reg_n == 0)
            pthread_cond_wait(&reg_cond, &reg_lock);
        pthread_mutex_unlock(&reg_lock);
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == ECHILD)
                usleep(10000); /* a fork in progress: its entry comes with reg_lock */
            continue;
        }
        sam_worker *w = NULL;
        pthread_mutex_lock(&reg_lock);
        for (int i = 0; i < reg_n; i++)
            if (reg[i].pid == pid) {
                w = reg[i].w;
                reg[i] = reg[--reg_n];
                break;
            }
        pthread_mutex_unlock(&reg_lock);
        if (w)
            worker_exited(w, status);
    }
    return NULL;
}

/* ---- the Runtime API's side ------------------------------------------------------------ */

int sam_pool_next(sam_worker *w, sam_invocation **out, char *arn, size_t arnlen)
{
    sam_pool *p = w->pool;
    pthread_mutex_lock(&p->lock);
    if (w->init_ms < 0)
        w->init_ms = mono_ms() - w->spawned_ms;
    if (w->state != W_RETIRED)
        w->state = W_IDLE;
    while (w->state != W_RETIRED && !stale(w) && !p->head && !p->closing)
        pthread_cond_wait(&p->work, &p->lock);
    if (w->state == W_RETIRED || stale(w) || p->closing) {
        retire(w);
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    sam_invocation *inv = pop(p);
    w->state = W_BUSY;
    w->current = inv;
    w->served++;
    inv->started = 1;
    inv->start_ms = mono_ms();
    double timeout_ms = p->o.debug ? DEBUG_DEADLINE_MS : p->f->timeout * 1000.0;
    inv->deadline_ms = wall_ms() + timeout_ms;
    char line[128];
    snprintf(line, sizeof line, "START RequestId: %s Version: $LATEST\n", inv->request_id);
    emit(inv, line);
    snprintf(arn, arnlen, "%s", p->arn);
    *out = inv;
    pthread_cond_broadcast(&inv->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int sam_pool_finish(sam_worker *w, const char *request_id, const char *body, size_t len, int is_error)
{
    drain(w); /* what the handler printed before it returned is in the pipe by now */
    sam_pool *p = w->pool;
    pthread_mutex_lock(&p->lock);
    sam_invocation *inv = w->current;
    if (!inv || strcmp(inv->request_id, request_id) != 0) {
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    buf_reset(&inv->result);
    buf_append(&inv->result, body, len);
    inv->is_error = is_error;
    w->current = NULL;
    w->state = W_IDLE; /* about to ask for the next one */
    complete(p, w, inv, NULL);
    if (stale(w))
        retire(w);
    else
        pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* w's invocation if it is request_id's, else NULL. Pool lock held. */
static sam_invocation *current_of(sam_worker *w, const char *request_id)
{
    sam_invocation *inv = w->current;
    return inv && strcmp(inv->request_id, request_id) == 0 ? inv : NULL;
}

int sam_pool_stream_begin(sam_worker *w, const char *request_id, const char *content_type)
{
    pthread_mutex_lock(&w->pool->lock);
    sam_invocation *inv = current_of(w, request_id);
    if (inv) {
        inv->streaming = 1;
        snprintf(inv->content_type, sizeof inv->content_type, "%s", content_type ? content_type : "");
        pthread_cond_broadcast(&inv->cond);
    }
    pthread_mutex_unlock(&w->pool->lock);
    return inv ? 0 : -1;
}

int sam_pool_stream_write(sam_worker *w, const char *request_id, const char *data, size_t len)
{
    pthread_mutex_lock(&w->pool->lock);
    sam_invocation *inv = current_of(w, request_id);
    int rc = inv ? buf_append(&inv->pending, data, len) : -1;
    if (inv)
        pthread_cond_broadcast(&inv->cond);
    pthread_mutex_unlock(&w->pool->lock);
    return rc;
}

void sam_pool_init_error(sam_worker *w, const char *body, size_t len)
{
    drain(w);
    pthread_mutex_lock(&w->pool->lock);
    buf_reset(&w->init_error);
    buf_append(&w->init_error, body, len);
    pthread_mutex_unlock(&w->pool->lock);
}

/* ---- the caller's side ----------------------------------------------------------------- */

sam_pool *sam_pool_new(const sam_function *f, char *const *envp, const sam_pool_options *o)
{
    sam_pool *p = calloc(1, sizeof *p);
    if (!p) {
        fprintf(stderr, "host local: out of memory\n");
        return NULL;
    }
    p->f = f;
    p->envp = envp;
    p->o = *o;
    p->watch.fd = -1;
    p->exe = sam_env_self_exe();
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    snprintf(p->arn, sizeof p->arn, "arn:aws:lambda:%s:%s:function:%s", o->region, LOCAL_ACCOUNT_ID, f->id);
    if (o->watch)
        sam_watch_open(&p->watch, f->code_dir);
    return p;
}

void sam_pool_warm(sam_pool *p)
{
    pthread_mutex_lock(&p->lock);
    if (!p->workers)
        spawn(p);
    pthread_mutex_unlock(&p->lock);
}

/* A code change: workers on the old code end now if idle, after their invocation if busy. */
static void reload(sam_pool *p)
{
    p->generation++;
    fprintf(stderr, "host local: %s: code changed; its workers restart\n", p->f->id);
    for (sam_worker *w = p->workers; w; w = w->next)
        if (w->state == W_STARTING || w->state == W_IDLE)
            retire(w);
    pthread_cond_broadcast(&p->work);
}

/* Lambda's timeout: the invocation fails with Sandbox.Timedout and its worker is reset. */
static void time_out(sam_pool *p, sam_invocation *inv)
{
    sam_worker *w = NULL;
    for (sam_worker *x = p->workers; x; x = x->next)
        if (x->current == inv)
            w = x;
    char stamp[32], line[256], msg[160];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(line, sizeof line, "%s.000Z %s Task timed out after %.2f seconds\n", stamp, inv->request_id,
             p->f->timeout);
    emit(inv, line);
    snprintf(msg, sizeof msg, "RequestId: %s Error: Task timed out after %.2f seconds", inv->request_id,
             p->f->timeout);
    if (w) {
        w->current = NULL;
        retire(w);
    }
    fail_with(p, w, inv, "Sandbox.Timedout", msg, "timeout");
}

static int started_streaming(const sam_invocation *inv)
{
    return inv->streaming;
}

static int has_pending(const sam_invocation *inv)
{
    return inv->pending.len > 0;
}

/* Waits until inv is done or ready(inv) (NULL: done only), timing it out at its deadline.
 * Pool lock held. */
static void wait_for(sam_pool *p, sam_invocation *inv, int (*ready)(const sam_invocation *))
{
    while (!inv->done && !(ready && ready(inv))) {
        if (!inv->started || p->o.debug) {
            pthread_cond_wait(&inv->cond, &p->lock);
            continue;
        }
        double at = inv->start_ms + p->f->timeout * 1000.0;
        struct timespec ts = {.tv_sec = (time_t)(at / 1000.0)};
        ts.tv_nsec = (long)((at - ts.tv_sec * 1000.0) * 1e6);
        if (pthread_cond_timedwait(&inv->cond, &p->lock, &ts) == ETIMEDOUT && !inv->done)
            time_out(p, inv);
    }
}

void sam_pool_invoke(sam_pool *p, sam_invocation *inv)
{
    new_request_id(inv->request_id);
    if (!inv->trace_id) {
        new_trace_id(inv->trace_buf, sizeof inv->trace_buf);
        inv->trace_id = inv->trace_buf;
    }
    pthread_mutex_lock(&p->lock);
    if (p->closing) {
        fail_with(p, NULL, inv, "Runtime.Unavailable", "host local is shutting down", NULL);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    p->callers++;
    if (p->o.watch && sam_watch_changed(&p->watch))
        reload(p);
    if (p->tail)
        p->tail->next = inv;
    else
        p->head = inv;
    p->tail = inv;
    p->queued++;
    scale(p);
    pthread_cond_broadcast(&p->work);
    wait_for(p, inv, started_streaming);
    if (inv->done) {
        p->callers--;
        pthread_cond_broadcast(&p->work);
    } else {
        inv->holding = 1;
    }
    pthread_mutex_unlock(&p->lock);
}

size_t sam_pool_read(sam_pool *p, sam_invocation *inv, char *out, size_t max)
{
    pthread_mutex_lock(&p->lock);
    wait_for(p, inv, has_pending);
    size_t n = inv->pending.len < max ? inv->pending.len : max;
    if (n > 0) {
        memcpy(out, inv->pending.data, n);
        memmove(inv->pending.data, inv->pending.data + n, inv->pending.len - n);
        inv->pending.len -= n;
    }
    pthread_mutex_unlock(&p->lock);
    return n;
}

void sam_pool_stream_close(sam_pool *p, sam_invocation *inv)
{
    pthread_mutex_lock(&p->lock);
    wait_for(p, inv, NULL);
    if (inv->holding) {
        inv->holding = 0;
        p->callers--;
        pthread_cond_broadcast(&p->work);
    }
    pthread_mutex_unlock(&p->lock);
}

void sam_pool_close(sam_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->closing = 1;
    for (sam_invocation *inv; (inv = pop(p));)
        fail_with(p, NULL, inv, "Runtime.Unavailable", "host local is shutting down", NULL);
    for (sam_worker *w = p->workers; w; w = w->next) {
        if (w->current && !w->current->done)
            fail_with(p, w, w->current, "Runtime.Unavailable", "host local is shutting down", NULL);
        w->current = NULL;
        retire(w);
    }
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
}

void sam_pool_free(sam_pool *p)
{
    if (!p)
        return;
    sam_pool_close(p);
    pthread_mutex_lock(&p->lock);
    while (p->workers || p->callers) /* Event invocations end on their own threads */
        pthread_cond_wait(&p->work, &p->lock);
    pthread_mutex_unlock(&p->lock);
    sam_watch_close(&p->watch);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
