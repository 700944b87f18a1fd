#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "awsconfig.h"
#include "buf.h"
#include "crash.h"
#include "deadline.h"
#include "diag.h"
#include "invoke.h"
#include "session.h"
#include "stream.h"

#define DEFAULT_FUNCTION_NAME "host-local"
#define DEFAULT_MEMORY_SIZE "128"
#define DEFAULT_REGION "us-east-1"
#define TIMEOUT_GRACE_MS 1000.0 /* then a handler stuck in C code is stopped the hard way */

double local_now_ms(void)
{
    return deadline_now_ms();
}

static int usage(const char *fmt, const char *a, const char *b)
{
    fputs("host: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return -1;
}

/* ---- events ------------------------------------------------------------------------ */

static int read_all(const char *path, buf_t *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return usage("cannot read event file '%s': %s. Pass an existing JSON file, or - for stdin.",
                     path, strerror(errno));
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(out, chunk, n) < 0) {
            rc = usage("%s: out of memory reading '%s'", "event", path);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = usage("cannot read event file '%s': %s", path, strerror(errno));
    if (f != stdin)
        fclose(f);
    return rc;
}

/* The event is kept as bytes and decoded when it runs, by the decoder runtime mode uses:
 * an invalid one gets the same Runtime.UnmarshalError document. */
static int add_event(local_session *s, const char *data, size_t len, const char *label)
{
    local_event *grown = realloc(s->events, (s->n + 1) * sizeof *grown);
    if (!grown)
        return usage("%s%s", "out of memory", "");
    s->events = grown;
    local_event *e = &s->events[s->n];
    e->data = malloc(len + 1);
    e->label = strdup(label);
    if (!e->data || !e->label) {
        free(e->data);
        free(e->label);
        return usage("%s%s", "out of memory", "");
    }
    memcpy(e->data, data, len);
    e->data[len] = '\0';
    e->len = len;
    s->n++;
    return 0;
}

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

/* A .jsonl file: one event per non-blank line. */
static int add_lines(local_session *s, const buf_t *b, const char *path)
{
    size_t start = 0, lineno = 0, before = s->n;
    while (start < b->len) {
        const char *nl = memchr(b->data + start, '\n', b->len - start);
        size_t end = nl ? (size_t)(nl - b->data) : b->len;
        lineno++;
        if (!is_blank(b->data + start, end - start)) {
            char label[4096];
            snprintf(label, sizeof label, "%s:%zu", path, lineno);
            if (add_event(s, b->data + start, end - start, label) < 0)
                return -1;
        }
        start = end + 1;
    }
    if (s->n == before)
        return usage("event file '%s' holds no events (a .jsonl file wants one JSON event per line)%s",
                     path, "");
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int load_events(const host_options *o, local_session *s)
{
    for (int i = 0; i < o->n_events; i++) {
        buf_t b = BUF_INIT;
        const char *path = o->events[i];
        int rc = read_all(path, &b);
        if (rc == 0)
            rc = ends_with(path, ".jsonl") ? add_lines(s, &b, path)
                                           : add_event(s, b.data ? b.data : "", b.len,
                                                       strcmp(path, "-") == 0 ? "<stdin>" : path);
        buf_free(&b);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- environment --------------------------------------------------------------------- */

static int set_env_value(const char *key, json_t *value, const char *file)
{
    char num[64];
    const char *text = NULL;
    if (json_is_string(value))
        text = json_string_value(value);
    else if (json_is_integer(value))
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(value)), text = num;
    else if (json_is_real(value))
        snprintf(num, sizeof num, "%g", json_real_value(value)), text = num;
    else if (json_is_true(value) || json_is_false(value))
        text = json_is_true(value) ? "true" : "false";
    if (!text)
        return usage("--env-vars %s: the value of '%s' must be a string, number or boolean", file, key);
    return setenv(key, text, 1);
}

/* A flat {"VAR": "value"} object, or SAM's {"Parameters": {...}, "<function>": {...}}. */
static int apply_env_file(const char *file, const char *function_name)
{
    json_error_t err;
    json_t *doc = json_load_file(file, 0, &err);
    if (!doc)
        return usage("--env-vars %s: %s. The file must hold one JSON object of variables.", file,
                     err.text);
    int rc = 0;
    if (!json_is_object(doc)) {
        rc = usage("--env-vars %s: the file must hold a JSON object, like {\"TABLE\": \"t\"}%s", file, "");
    } else {
        const char *key;
        json_t *value;
        json_object_foreach(doc, key, value) {
            if (json_is_object(value)) {
                if (strcmp(key, "Parameters") != 0 && strcmp(key, function_name) != 0)
                    continue;
                const char *k2;
                json_t *v2;
                json_object_foreach(value, k2, v2) {
                    if ((rc = set_env_value(k2, v2, file)) < 0)
                        break;
                }
            } else {
                rc = set_env_value(key, value, file);
            }
            if (rc < 0)
                break;
        }
    }
    json_decref(doc);
    return rc;
}

/* AWS_REGION and AWS_DEFAULT_REGION, both to one value as Lambda sets them: --region, then
 * either variable (from the environment or --env-vars), then the active AWS profile's
 * region, then us-east-1. */
static void set_region(const char *flag)
{
    char from_profile[AWSCONFIG_REGION_MAX];
    const char *region = flag;
    if (!region || !*region)
        region = getenv("AWS_REGION");
    if (!region || !*region)
        region = getenv("AWS_DEFAULT_REGION");
    if ((!region || !*region) && awsconfig_profile_region(from_profile, sizeof from_profile) == 0)
        region = from_profile;
    if (!region || !*region)
        region = DEFAULT_REGION;
    char *value = strdup(region); /* setenv below may free the string region points into */
    if (!value)
        return;
    setenv("AWS_REGION", value, 1);
    setenv("AWS_DEFAULT_REGION", value, 1);
    free(value);
}

static void set_default(const char *key, const char *value)
{
    setenv(key, value, 0);
}

static void random_hex(char *out, size_t nbytes)
{
    unsigned char r[32];
    if (nbytes > sizeof r)
        nbytes = sizeof r;
    if (getrandom(r, nbytes, 0) != (ssize_t)nbytes) {
        for (size_t i = 0; i < nbytes; i++)
            r[i] = (unsigned char)rand();
    }
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", r[i]);
}

static int set_lambda_env(const host_options *o, const char *task_root)
{
    const char *name = o->function_name ? o->function_name
                                        : (getenv("AWS_LAMBDA_FUNCTION_NAME") ? getenv("AWS_LAMBDA_FUNCTION_NAME")
                                                                              : DEFAULT_FUNCTION_NAME);
    setenv("AWS_LAMBDA_FUNCTION_NAME", name, 1);
    if (o->memory_size)
        setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", o->memory_size, 1);
    set_default("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", DEFAULT_MEMORY_SIZE);
    set_default("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    set_default("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    char group[512], stream[128], hex[33], day[16];
    snprintf(group, sizeof group, "/aws/lambda/%s", name);
    set_default("AWS_LAMBDA_LOG_GROUP_NAME", group);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(day, sizeof day, "%Y/%m/%d", &tm);
    random_hex(hex, 16);
    snprintf(stream, sizeof stream, "%s/[$LATEST]%s", day, hex);
    set_default("AWS_LAMBDA_LOG_STREAM_NAME", stream);
    setenv("LAMBDA_TASK_ROOT", task_root, 1);
    /* Lets a handler tell a laptop from Lambda (the store allows a dev secret only here). */
    setenv("HOST_LOCAL", "1", 1);
    if (o->env_vars && apply_env_file(o->env_vars, name) < 0)
        return -1;
    set_region(o->region);
    return 0;
}

/* Before Python starts: reads the events, sets the Lambda environment variables,
 * applies --env-vars, enters the task root and sends fd 1 to stderr. On a usage error
 * prints it and returns -1 (exit status 2). */
static int local_prepare(const host_options *o, local_session *s, double started_ms)
{
    memset(s, 0, sizeof *s);
    s->result_fd = -1;
    s->started_ms = started_ms;
    if (load_events(o, s) < 0)
        return -1;
    char cwd[4096];
    const char *root = cli_task_root(o);
    if (!root) {
        if (!getcwd(cwd, sizeof cwd))
            return usage("cannot read the current directory: %s%s", strerror(errno), "");
        root = cwd;
    }
    s->task_root = realpath(root, NULL);
    if (!s->task_root)
        return usage("--task-root %s: %s. Pass the directory that holds your handler's code.", root,
                     strerror(errno));
    if (set_lambda_env(o, s->task_root) < 0)
        return -1;
    if (chdir(s->task_root) < 0)
        return usage("cannot enter the task root %s: %s", s->task_root, strerror(errno));
    /* Results own stdout; print() and logging go to stderr, as `sam local invoke` does. */
    fflush(stdout);
    s->result_fd = dup(1);
    if (s->result_fd < 0 || dup2(2, 1) < 0)
        return usage("cannot set up stdout: %s%s", strerror(errno), "");
    return 0;
}

static void local_session_free(local_session *s)
{
    free(s->task_root);
    for (size_t i = 0; i < s->n; i++) {
        free(s->events[i].data);
        free(s->events[i].label);
    }
    free(s->events);
    if (s->result_fd >= 0)
        close(s->result_fd);
    memset(s, 0, sizeof *s);
    s->result_fd = -1;
}

/* ---- output -------------------------------------------------------------------------- */

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void write_result_line(int fd, const char *data, size_t len)
{
    write_all(fd, data, len);
    write_all(fd, "\n", 1);
}

static long max_memory_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_maxrss + 1023) / 1024;
}

static void report_line(const char *rid, double duration_ms, double init_ms)
{
    char init[64] = "";
    if (init_ms >= 0)
        snprintf(init, sizeof init, "\tInit Duration: %.2f ms", init_ms);
    const char *mem = getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
    long long billed = (long long)duration_ms + ((double)(long long)duration_ms < duration_ms);
    fprintf(stderr, "END RequestId: %s\n", rid);
    fprintf(stderr,
            "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %lld ms\t"
            "Memory Size: %s MB\tMax Memory Used: %ld MB%s\n",
            rid, duration_ms, billed < 1 ? 1 : billed, mem ? mem : DEFAULT_MEMORY_SIZE,
            max_memory_mb(), init);
    fflush(stderr);
}

/* ---- one event ------------------------------------------------------------------------ */

/* How one event ended, for the sandbox's loop. */
typedef enum {
    EVENT_OK,
    EVENT_FAILED,      /* an error document was printed */
    EVENT_TIMED_OUT,   /* Lambda resets the sandbox: the next event gets a fresh init */
    EVENT_STOPPED,     /* the handler ended the process, or Ctrl-C */
} event_outcome;

/* The sandbox: one process that inits once and runs events until one times out. */
typedef struct {
    local_session *s;
    double timeout_s;
    size_t next;          /* the next event to run */
    int resume_fd;        /* to the parent: where to resume after a timeout */
    double init_started_ms;
    /* the event in flight, for the watchdog (which cannot call Python) */
    char rid[37];
    double started_ms;
    PyObject *timeout_doc; /* owned: bytes */
    int stop_status;       /* the exit status after EVENT_STOPPED */
    int mid_line;          /* a stream's bytes on stdout do not end with a newline */
} sandbox;

static void new_request_id(char out[37])
{
    char h[33];
    random_hex(h, 16);
    h[12] = '4';                                  /* version 4 */
    h[16] = "89ab"[(h[16] - '0') & 3];            /* variant 10 */
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* errors.NAME(request_id, number) from host/py/errors.py, or host's own error document.
 * New reference (bytes). */
static PyObject *local_document(const char *name, const char *rid, PyObject *number)
{
    PyObject *doc = number ? pyrt_errors_call(name, "(sO)", rid, number) : NULL;
    Py_XDECREF(number);
    if (doc && PyBytes_Check(doc))
        return doc;
    Py_XDECREF(doc);
    return pyrt_host_error(rid, "host could not format the error; see the log");
}

static void write_document(int fd, PyObject *doc)
{
    write_result_line(fd, PyBytes_AS_STRING(doc), (size_t)PyBytes_GET_SIZE(doc));
}

/* A document after a stream's bytes starts on a line of its own. */
static void end_stream_line(const sandbox *b)
{
    if (b->mid_line)
        write_all(b->s->result_fd, "\n", 1);
}

/* Lambda's own log line for a timeout, and its error document. */
static void report_timeout(const sandbox *b)
{
    end_stream_line(b);
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s %s Task timed out after %.2f seconds\n", stamp, b->rid, b->timeout_s);
    write_document(b->s->result_fd, b->timeout_doc);
}

/* The parent starts a fresh sandbox at event `next` (nothing to do after the last one). */
static void ask_for_reset(const sandbox *b, size_t next)
{
    if (next >= b->s->n)
        return;
    char line[32];
    int n = snprintf(line, sizeof line, "%zu\n", next);
    write_all(b->resume_fd, line, (size_t)n);
}

/* On the watchdog thread: the handler never came back from C code after its deadline.
 * Reported from what was prepared before the event (no Python here); the parent goes on
 * with the next event in a fresh sandbox. */
static void stuck_past_deadline(void *ctx)
{
    sandbox *b = ctx;
    report_timeout(b);
    report_line(b->rid, local_now_ms() - b->started_ms, -1);
    diag("the handler did not return to Python after its deadline; the process was stopped");
    ask_for_reset(b, b->next + 1);
    _exit(1);
}

static void python_alarm(pyrt_t *rt, double seconds)
{
    PyObject *r = PyObject_CallMethod(rt->module, "set_alarm", "d", seconds);
    if (!r)
        PyErr_Print();
    Py_XDECREF(r);
}

/* What the handler printed reaches the terminal before the sandbox is thrown away. */
static void flush_python_streams(void)
{
    static const char *const names[] = {"stdout", "stderr"};
    for (size_t i = 0; i < 2; i++) {
        PyObject *f = PySys_GetObject(names[i]); /* borrowed */
        PyObject *r = f && f != Py_None ? PyObject_CallMethod(f, "flush", NULL) : NULL;
        if (!r)
            PyErr_Clear();
        Py_XDECREF(r);
    }
    fflush(stdout);
    fflush(stderr);
}

static event_outcome report_result(sandbox *b, const invoke_result *res)
{
    size_t left = b->s->n - b->next - 1;
    switch (res->kind) {
    case INVOKE_RESPONSE:
        write_result_line(b->s->result_fd, res->data, res->len);
        return EVENT_OK;
    case INVOKE_STREAM: /* sent by send_stream before this */
    case INVOKE_STREAMED:
        return EVENT_OK;
    case INVOKE_ERROR:
        end_stream_line(b);
        write_result_line(b->s->result_fd, res->data, res->len);
        return EVENT_FAILED;
    case INVOKE_TIMEOUT:
        report_timeout(b);
        return EVENT_TIMED_OUT;
    case INVOKE_INTERRUPT:
        diag("interrupted; %zu remaining event(s) not run", left);
        b->stop_status = res->exit_code;
        return EVENT_STOPPED;
    case INVOKE_EXIT:
        break;
    }
    PyObject *doc = local_document("exit_error", b->rid, PyLong_FromLong(res->exit_code & 0xff));
    write_document(b->s->result_fd, doc);
    Py_DECREF(doc);
    diag("the handler ended the process (exit status %d); %zu remaining event(s) not run",
         res->exit_code & 0xff, left);
    b->stop_status = 1; /* a failed invocation, whatever status the handler asked for */
    return EVENT_STOPPED;
}

/* A streamed result: each chunk to stdout as the handler yields it (the GIL released while
 * it is written), the HTTP prelude's status and headers to stderr. Under the deadline. */
static void send_stream(sandbox *b, invoke_result *res)
{
    PyObject *prelude = stream_take_prelude_text(res);
    const char *text = prelude ? PyUnicode_AsUTF8(prelude) : NULL;
    if (text) {
        fputs(text, stderr);
        fflush(stderr);
    }
    PyErr_Clear();
    Py_XDECREF(prelude);
    int fd = b->s->result_fd, mid_line = 0;
    const char *p;
    size_t n;
    Py_BEGIN_ALLOW_THREADS
    while (stream_pull(res->stream, &p, &n) > 0) {
        write_all(fd, p, n);
        mid_line = p[n - 1] != '\n';
    }
    Py_END_ALLOW_THREADS
    b->mid_line = mid_line;
    stream_end(res);
}

static event_outcome run_event(sandbox *b, invoker *iv, pyrt_t *rt, deadline_t *w, double init_ms)
{
    local_event *e = &b->s->events[b->next];
    new_request_id(b->rid);
    const char *name = getenv("AWS_LAMBDA_FUNCTION_NAME");
    char arn[512];
    snprintf(arn, sizeof arn, "arn:aws:lambda:%s:123456789012:function:%s", getenv("AWS_REGION"),
             name ? name : DEFAULT_FUNCTION_NAME);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    long long deadline = (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000 +
                         (long long)(b->timeout_s * 1000.0);
    invoke_request req = {
        .request_id = b->rid, .deadline_ms = deadline, .function_arn = arn,
        .content_type = "application/json", .body = e->data, .body_len = e->len,
    };
    Py_XSETREF(b->timeout_doc, local_document("timeout_error", b->rid,
                                              PyFloat_FromDouble(b->timeout_s)));
    fprintf(stderr, "START RequestId: %s Version: $LATEST\n", b->rid);
    fflush(stderr);
    b->started_ms = local_now_ms();
    deadline_arm(w, b->started_ms + b->timeout_s * 1000.0 + TIMEOUT_GRACE_MS, b);
    python_alarm(rt, b->timeout_s);
    invoke_result res;
    b->mid_line = 0;
    invoke_run(iv, &req, &res);
    if (res.kind == INVOKE_STREAM)
        send_stream(b, &res);
    python_alarm(rt, 0);
    deadline_disarm(w);
    double took = local_now_ms() - b->started_ms;
    event_outcome out = report_result(b, &res);
    invoke_result_clear(&res);
    report_line(b->rid, took, init_ms);
    return out;
}

/* ---- the sandbox's session ---------------------------------------------------------------- */

static const char *hint_for(const char *error_type)
{
    if (strcmp(error_type, "Runtime.MalformedHandlerName") == 0)
        return "name the handler as MODULE.FUNCTION (e.g. app.lambda_handler) with --handler or _HANDLER";
    if (strcmp(error_type, "Runtime.ImportModuleError") == 0)
        return "check that --task-root holds the module (or package) and that its dependencies are installed";
    if (strcmp(error_type, "Runtime.HandlerNotFound") == 0)
        return "define that function in the module, or pass --handler MODULE.FUNCTION";
    if (strcmp(error_type, "Runtime.UserCodeSyntaxError") == 0)
        return "fix the syntax error at the place shown above";
    if (strcmp(error_type, "Runtime.BuiltInModuleConflict") == 0)
        return "rename your module: that name belongs to a module built into Python";
    return "the module raised while being imported; see the traceback above";
}

static int sandbox_init_failed(void *ctx, const pyrt_init_failure *f)
{
    sandbox *b = ctx;
    write_document(b->s->result_fd, f->body);
    diag("init failed: %s: %s", f->error_type, f->message);
    diag("fix: %s", hint_for(f->error_type));
    return 2;
}

static int sandbox_init_exited(void *ctx, int status)
{
    (void)ctx;
    diag("the handler's module ended the process (exit status %d) while being imported",
         status & 0xff);
    return 2;
}

static int sandbox_serve(void *ctx, pyrt_t *rt, invoker *iv)
{
    sandbox *b = ctx;
    deadline_t w;
    if (deadline_start(&w, stuck_past_deadline) < 0) {
        diag("cannot start the timeout watchdog");
        return 2;
    }
    double init_ms = local_now_ms() - b->init_started_ms;
    int failed = 0, rc = -1;
    for (; b->next < b->s->n && rc < 0; b->next++) {
        switch (run_event(b, iv, rt, &w, init_ms)) {
        case EVENT_OK:
            break;
        case EVENT_FAILED:
            failed = 1;
            break;
        case EVENT_TIMED_OUT:
            /* The sandbox is thrown away, as Lambda resets it: no atexit hooks run. */
            flush_python_streams();
            ask_for_reset(b, b->next + 1);
            _exit(1);
        case EVENT_STOPPED:
            rc = b->stop_status;
            break;
        }
        init_ms = -1; /* Init Duration: on the first REPORT of each sandbox */
    }
    deadline_stop(&w);
    Py_CLEAR(b->timeout_doc);
    return rc >= 0 ? rc : failed;
}

/* Runs events from `first` in this process; returns its exit status. */
static int run_sandbox(const host_options *o, local_session *s, const char *argv0,
                       size_t first, int resume_fd, double init_started_ms)
{
    sandbox b = {.s = s, .timeout_s = o->timeout, .next = first, .resume_fd = resume_fd,
                 .init_started_ms = init_started_ms};
    crash_install(NULL, s->result_fd);
    session_config cfg = {.argv0 = argv0, .task_root = s->task_root,
                          .handler = cli_handler(o), .terminal = isatty(2)};
    session_mode mode = {.init_failed = sandbox_init_failed, .init_exited = sandbox_init_exited,
                         .serve = sandbox_serve, .ctx = &b, .start_failed = 2};
    return session_run(&cfg, &mode);
}

/* ---- the parent: a fresh sandbox after each timeout --------------------------------------- */

/* The event index a sandbox asked to resume at, or -1 when it did not. */
static long read_resume(int fd)
{
    char line[32];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof line - 1 && (n = read(fd, line + len, sizeof line - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
    }
    line[len] = '\0';
    return len ? strtol(line, NULL, 10) : -1;
}

static int wait_status(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int local_main(const host_options *o, const char *argv0, double started_ms)
{
    local_session s;
    diag_enable();
    int rc = local_prepare(o, &s, started_ms) < 0 ? 2 : -1;
    int timed_out = 0;
    size_t first = 0;
    while (rc < 0) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
            diag("cannot create a pipe: %s", strerror(errno));
            rc = 2;
            break;
        }
        /* Ctrl-C reaches the sandbox, which reports "interrupted"; this process waits. */
        signal(SIGINT, SIG_IGN);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGINT, SIG_DFL);
            close(p[0]);
            rc = run_sandbox(o, &s, argv0, first, p[1], first ? local_now_ms() : started_ms);
            close(p[1]);
            break;
        }
        close(p[1]);
        long resume = pid > 0 ? read_resume(p[0]) : -1;
        close(p[0]);
        int status = pid > 0 ? wait_status(pid) : 2;
        signal(SIGINT, SIG_DFL);
        if (pid < 0)
            diag("cannot start the sandbox process: %s", strerror(errno));
        if (resume > (long)first && (size_t)resume < s.n) {
            timed_out = 1;
            first = (size_t)resume;
            continue;
        }
        rc = status == 0 && timed_out ? 1 : status;
    }
    local_session_free(&s);
    return rc;
}
