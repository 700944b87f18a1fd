#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interp.h"

pyrt_t unit_rt;
char unit_last_diff[16384];

void unit_py_start(void)
{
    if (interp_start("host-unit") < 0) {
        fprintf(stderr, "unit: interp_start failed\n");
        exit(2);
    }
    if (pyrt_load(&unit_rt) < 0) {
        PyErr_Print();
        fprintf(stderr, "unit: pyrt_load failed\n");
        exit(2);
    }
}

void unit_py_stop(void)
{
    pyrt_unload(&unit_rt);
    if (Py_FinalizeEx() < 0)
        fprintf(stderr, "unit: Py_FinalizeEx failed\n");
}

static PyObject *main_dict(void)
{
    PyObject *m = PyImport_AddModule("__main__"); /* borrowed */
    return m ? PyModule_GetDict(m) : NULL;
}

int unit_py_exec(const char *code)
{
    PyObject *g = main_dict();
    PyObject *r = g ? PyRun_String(code, Py_file_input, g, g) : NULL;
    if (!r) {
        PyErr_Print();
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

PyObject *unit_py_eval(const char *expr)
{
    PyObject *g = main_dict();
    PyObject *r = g ? PyRun_String(expr, Py_eval_input, g, g) : NULL;
    if (!r)
        PyErr_Print();
    return r;
}

int unit_py_set(const char *name, PyObject *obj)
{
    PyObject *g = main_dict();
    return g ? PyDict_SetItemString(g, name, obj) : -1;
}

int unit_py_truth(const char *expr)
{
    PyObject *r = unit_py_eval(expr);
    if (!r)
        return -1;
    int t = PyObject_IsTrue(r);
    Py_DECREF(r);
    if (t < 0)
        PyErr_Print();
    return t;
}

char *unit_py_take_error(void)
{
    if (!PyErr_Occurred())
        return NULL;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *s = value ? PyObject_Str(value) : NULL;
    const char *text = s ? PyUnicode_AsUTF8(s) : NULL;
    if (!text) {
        PyErr_Clear();
        text = "<str() failed>";
    }
    const char *name = type ? _PyType_Name((PyTypeObject *)type) : "?";
    size_t n = strlen(name) + strlen(text) + 3;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s: %s", name, text);
    Py_XDECREF(s);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return out;
}

Py_ssize_t unit_py_blocks(void)
{
    /* Through the C API, not a snippet: compiling one would intern new names each time. */
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *r = gc ? PyObject_CallMethod(gc, "collect", NULL) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(gc);
    PyObject *fn = r ? PySys_GetObject("getallocatedblocks") : NULL; /* borrowed */
    PyObject *n = fn ? PyObject_CallNoArgs(fn) : NULL;
    Py_ssize_t blocks = n ? PyLong_AsSsize_t(n) : -1;
    Py_XDECREF(n);
    if (blocks < 0)
        PyErr_Print();
    return blocks;
}

Py_ssize_t unit_py_growth(void (*fn)(void *), void *arg, int calls)
{
    if (unit_py_blocks() == 0) {
        /* PYTHONMALLOC=malloc (the valgrind run): nothing to count; a few calls let
         * valgrind see what one call leaks. */
        for (int i = 0; i < 3; i++)
            fn(arg);
        return 0;
    }
    Py_ssize_t least = PY_SSIZE_T_MAX;
    for (int round = 0; round < 4; round++) {
        Py_ssize_t before = unit_py_blocks();
        for (int i = 0; i < calls; i++)
            fn(arg);
        Py_ssize_t growth = unit_py_blocks() - before;
        if (round > 0 && growth < least)
            least = growth;
    }
    return least;
}

/* Appends s[0..n) C-escaped to out (bounded by end). */
static char *escape_into(char *out, char *end, const char *s, size_t n)
{
    for (size_t i = 0; i < n && out + 5 < end; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"') {
            *out++ = '\\';
            *out++ = (char)c;
        } else if (c == '\n') {
            *out++ = '\\';
            *out++ = 'n';
        } else if (c == '\r') {
            *out++ = '\\';
            *out++ = 'r';
        } else if (c == '\t') {
            *out++ = '\\';
            *out++ = 't';
        } else if (c < 0x20 || c >= 0x7f) {
            out += snprintf(out, (size_t)(end - out), "\\x%02x", c);
        } else {
            *out++ = (char)c;
        }
    }
    *out = '\0';
    return out;
}

int unit_bytes_equal(const char *got, size_t glen, const char *want, size_t wlen)
{
    int eq = got && glen == wlen && memcmp(got, want, wlen) == 0;
    char *p = unit_last_diff, *end = unit_last_diff + sizeof unit_last_diff / 2;
    p += snprintf(p, (size_t)(end - p), "bytes differ\n  got  (%zu): \"", got ? glen : 0);
    if (got)
        p = escape_into(p, end, got, glen);
    end = unit_last_diff + sizeof unit_last_diff - 8;
    p += snprintf(p, (size_t)(end - p), "\"\n  want (%zu): \"", wlen);
    p = escape_into(p, end, want, wlen);
    snprintf(p, (size_t)(end + 8 - p), "\"");
    return eq;
}

void unit_capture_begin(unit_capture *c, int fd)
{
    fflush(stdout);
    fflush(stderr);
    c->fd = fd;
    c->tmp = tmpfile();
    c->saved = dup(fd);
    if (!c->tmp || c->saved < 0 || dup2(fileno(c->tmp), fd) < 0) {
        perror("unit: capture");
        exit(2);
    }
}

char *unit_capture_end(unit_capture *c, size_t *len)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved, c->fd);
    close(c->saved);
    off_t n = lseek(fileno(c->tmp), 0, SEEK_END);
    if (n < 0)
        n = 0;
    char *out = malloc((size_t)n + 1);
    if (!out) {
        perror("unit: capture");
        exit(2);
    }
    ssize_t got = pread(fileno(c->tmp), out, (size_t)n, 0);
    size_t m = got > 0 ? (size_t)got : 0;
    out[m] = '\0';
    fclose(c->tmp);
    c->tmp = NULL;
    if (len)
        *len = m;
    return out;
}

int unit_in_child(int (*fn)(void *), void *arg, unsigned seconds)
{
    int result[2];
    if (pipe(result) < 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(result[0]);
        signal(SIGALRM, SIG_DFL);
        alarm(seconds);
        unsigned char rc = (unsigned char)fn(arg);
        fflush(stdout);
        fflush(stderr);
        if (write(result[1], &rc, 1) != 1)
            _exit(2);
        /* Gone without an exit: valgrind would check the child's leaks at exit and turn
         * its status into --error-exitcode; the result is in the pipe already. */
        kill(getpid(), SIGKILL);
        _exit(rc);
    }
    close(result[1]);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            close(result[0]);
            return -1;
        }
    }
    unsigned char rc;
    ssize_t n = read(result[0], &rc, 1);
    close(result[0]);
    if (n == 1)
        return rc;
    if (WIFSIGNALED(status))
        return UNIT_CHILD_SIGNAL + WTERMSIG(status);
    return UNIT_CHILD_EXITED + WEXITSTATUS(status);
}

const char *unit_child_outcome(int rc)
{
    static char text[64];
    if (rc == UNIT_CHILD_SIGNAL + SIGALRM)
        return "hung (killed by its alarm)";
    if (rc > UNIT_CHILD_SIGNAL)
        snprintf(text, sizeof text, "died of signal %d (%s)", rc - UNIT_CHILD_SIGNAL,
                 strsignal(rc - UNIT_CHILD_SIGNAL));
    else if (rc >= UNIT_CHILD_EXITED)
        snprintf(text, sizeof text, "exited early with status %d", rc - UNIT_CHILD_EXITED);
    else
        snprintf(text, sizeof text, "returned %d", rc);
    return text;
}

char *unit_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/host-unit-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl)) {
        perror("unit: mkdtemp");
        exit(2);
    }
    return strdup(tmpl);
}

int unit_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void unit_rmtree(const char *dir)
{
    if (dir && strncmp(dir, "/", 1) == 0 && strstr(dir, "/host-unit-"))
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int unit_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *unit_task_root(const char *file, const char *source, const char *code)
{
    char *root = unit_mkdtemp();
    char path[4096];
    if (file) {
        snprintf(path, sizeof path, "%s/%s", root, file);
        if (unit_write_file(path, source) < 0) {
            fprintf(stderr, "unit: cannot write %s\n", path);
            unit_task_root_free(root);
            return NULL;
        }
    }
    PyObject *r = PyObject_CallFunction(unit_rt.setup, "sii", root, 0, 0);
    if (!r)
        PyErr_Print();
    Py_XDECREF(r);
    if (!r || unit_py_exec(code) < 0) {
        unit_task_root_free(root);
        return NULL;
    }
    return root;
}

void unit_task_root_free(char *root)
{
    unit_rmtree(root);
    free(root);
}

void unit_use_handler(invoker *iv, const char *expr)
{
    PyObject *fn = unit_py_eval(expr);
    ck_assert_ptr_nonnull(fn);
    invoker_clear(iv);
    int rc = invoker_init(iv, &unit_rt, fn);
    Py_DECREF(fn);
    ck_assert_int_eq(rc, 0);
}
