#include "local.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "deadline.h"
#include "invoke.h"

#define DEFAULT_FUNCTION_NAME "host-local"
#define DEFAULT_MEMORY_SIZE "128"
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
    set_default("AWS_REGION", "us-east-1");
    set_default("AWS_DEFAULT_REGION", getenv("AWS_REGION"));
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
    return 0;
}

int local_prepare(const host_options *o, local_session *s, double started_ms)
{
    memset(s, 0, sizeof *s);
    s->result_fd = -1;
    s->started_ms = started_ms;
    if (load_events(o, s) < 0)
        return -1;
    char cwd[4096];
    const char *root = o->task_root;
    if (!root) {
        if (!getcwd(cwd, sizeof cwd))
            return usage("cannot read the current directory: %s%s", strerror(errno), "");
        root = cwd;
    }
    char *abs_root = realpath(root, NULL);
    if (!abs_root)
        return usage("--task-root %s: %s. Pass the directory that holds your handler's code.", root,
                     strerror(errno));
    int rc = set_lambda_env(o, abs_root);
    if (rc == 0 && chdir(abs_root) < 0)
        rc = usage("cannot enter the task root %s: %s", abs_root, strerror(errno));
    free(abs_root);
    if (rc < 0)
        return -1;
    /* Results own stdout; print() and logging go to stderr, as `sam local invoke` does. */
    fflush(stdout);
    s->result_fd = dup(1);
    if (s->result_fd < 0 || dup2(2, 1) < 0)
        return usage("cannot set up stdout: %s%s", strerror(errno), "");
    return 0;
}

void local_session_free(local_session *s)
{
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

static char *timeout_document(const char *rid, double timeout)
{
    char msg[256];
    snprintf(msg, sizeof msg, "RequestId: %s Error: Task timed out after %.2f seconds", rid, timeout);
    json_t *doc = json_pack("{s:s, s:s}", "errorMessage", msg, "errorType", "Sandbox.Timedout");
    char *text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return text;
}

static void report_timeout(int fd, const char *rid, double timeout)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s %s Task timed out after %.2f seconds\n", stamp, rid, timeout);
    char *doc = timeout_document(rid, timeout);
    if (doc)
        write_result_line(fd, doc, strlen(doc));
    free(doc);
}

/* ---- the deadline ---------------------------------------------------------------------- */

/* What the watchdog needs to report an invocation that never came back from C code. */
typedef struct {
    const char *rid;
    double started_ms, timeout_s;
    int result_fd;
} in_flight;

static void stuck_past_deadline(void *ctx)
{
    const in_flight *f = ctx;
    report_timeout(f->result_fd, f->rid, f->timeout_s);
    report_line(f->rid, local_now_ms() - f->started_ms, -1);
    fprintf(stderr, "host: the handler did not return to Python after its deadline; "
                    "stopping (any remaining events are not run)\n");
    _exit(1);
}

static void python_alarm(pyrt_t *rt, double seconds)
{
    PyObject *r = PyObject_CallMethod(rt->module, "set_alarm", "d", seconds);
    if (!r)
        PyErr_Print();
    Py_XDECREF(r);
}

/* ---- the run --------------------------------------------------------------------------- */

static void new_request_id(char out[37])
{
    char h[33];
    random_hex(h, 16);
    h[12] = '4';                                  /* version 4 */
    h[16] = "89ab"[(h[16] - '0') & 3];            /* variant 10 */
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

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

static int run_event(local_session *s, invoker *iv, pyrt_t *rt, deadline_t *w, size_t i,
                     double timeout_s, double init_ms)
{
    char rid[37];
    new_request_id(rid);
    const char *name = getenv("AWS_LAMBDA_FUNCTION_NAME");
    const char *region = getenv("AWS_REGION");
    char arn[512];
    snprintf(arn, sizeof arn, "arn:aws:lambda:%s:123456789012:function:%s", region ? region : "us-east-1",
             name ? name : DEFAULT_FUNCTION_NAME);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    long long deadline = (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000 +
                         (long long)(timeout_s * 1000.0);
    invoke_request req = {
        .request_id = rid, .deadline_ms = deadline, .function_arn = arn,
        .content_type = "application/json", .body = s->events[i].data,
        .body_len = s->events[i].len,
    };
    fprintf(stderr, "START RequestId: %s Version: $LATEST\n", rid);
    fflush(stderr);
    double t0 = local_now_ms();
    in_flight f = {rid, t0, timeout_s, s->result_fd};
    deadline_arm(w, t0 + timeout_s * 1000.0 + TIMEOUT_GRACE_MS, &f);
    python_alarm(rt, timeout_s);
    invoke_result res;
    invoke_run(iv, &req, &res);
    python_alarm(rt, 0);
    deadline_disarm(w);
    double took = local_now_ms() - t0;
    int status = 0;
    switch (res.kind) {
    case INVOKE_RESPONSE:
        write_result_line(s->result_fd, res.data, res.len);
        break;
    case INVOKE_ERROR:
        write_result_line(s->result_fd, res.data, res.len);
        status = 1;
        break;
    case INVOKE_TIMEOUT:
        report_timeout(s->result_fd, rid, timeout_s);
        status = 1;
        break;
    case INVOKE_EXIT: {
        char msg[256];
        snprintf(msg, sizeof msg, "RequestId: %s Error: Runtime exited with error: exit status %d",
                 rid, res.exit_code);
        json_t *doc = json_pack("{s:s, s:s}", "errorType", "Runtime.ExitError", "errorMessage", msg);
        char *text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER) : NULL;
        if (text)
            write_result_line(s->result_fd, text, strlen(text));
        free(text);
        json_decref(doc);
        status = 2 + res.exit_code; /* marks "stop": see local_run */
        break;
    }
    }
    invoke_result_clear(&res);
    report_line(rid, took, init_ms);
    return status;
}

static int run_all(local_session *s, invoker *iv, pyrt_t *rt, double timeout_s, double init_ms)
{
    deadline_t w;
    if (deadline_start(&w, stuck_past_deadline) < 0) {
        fprintf(stderr, "host: cannot start the timeout watchdog\n");
        return 2;
    }
    int failed = 0;
    for (size_t i = 0; i < s->n; i++) {
        int st = run_event(s, iv, rt, &w, i, timeout_s, i == 0 ? init_ms : -1);
        if (st >= 2) {
            fprintf(stderr, "host: the handler exited the process (status %d); %zu remaining "
                            "event(s) not run\n", st - 2, s->n - i - 1);
            failed = 1;
            break;
        }
        failed |= st;
    }
    deadline_stop(&w);
    return failed ? 1 : 0;
}

int local_run(const host_options *o, local_session *s, pyrt_t *rt, const char *handler_name)
{
    PyObject *handler = NULL;
    pyrt_init_failure f;
    int rc;
    switch (pyrt_load_handler(rt, handler_name, &handler, &f)) {
    case PYRT_INIT_FAILED:
        write_result_line(s->result_fd, PyBytes_AS_STRING(f.body), (size_t)PyBytes_GET_SIZE(f.body));
        fprintf(stderr, "host: init failed: %s: %s\nhost: fix: %s\n", f.error_type, f.message,
                hint_for(f.error_type));
        rc = 2;
        break;
    case PYRT_INIT_EXIT:
        fprintf(stderr, "host: the handler's module exited the process (status %d) while "
                        "being imported\n", f.exit_code);
        rc = 2;
        break;
    default: {
        double init_ms = local_now_ms() - s->started_ms;
        invoker iv;
        if (invoker_init(&iv, rt, handler) < 0) {
            PyErr_Print();
            rc = 2;
        } else {
            rc = run_all(s, &iv, rt, o->timeout, init_ms);
        }
        invoker_clear(&iv);
        Py_DECREF(handler);
    }
    }
    pyrt_init_failure_clear(&f);
    return rc;
}
