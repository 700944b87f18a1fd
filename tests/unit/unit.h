/* unit: what host's C unit tests (Check) share: an embedded interpreter started the way
 * host starts it, Python snippets run in __main__, exact-bytes assertions that print both
 * sides escaped, fd capture, and a forked child for calls that may crash or hang.
 *
 * Each test binary is one Suite run by unit_main. Under `make unit` every binary runs
 * twice: with Check's fork mode, then under valgrind with CK_FORK=no (one process). A test
 * must therefore leave no state behind that another test depends on. */
#ifndef HOST_UNIT_H
#define HOST_UNIT_H

#include <Python.h>
#include <check.h>
#include <stddef.h>

#include "invoke.h"
#include "pyrt.h"

/* The Python half, loaded by unit_py_start. */
extern pyrt_t unit_rt;

/* Starts CPython through interp_start (which registers `_host`) and loads the Python half
 * with pyrt_load. Exits the process with a message on failure. */
void unit_py_start(void);
/* pyrt_unload, then Py_FinalizeEx. */
void unit_py_stop(void);

/* Runs statements in __main__; 0, or -1 after printing the Python error to stderr. */
int unit_py_exec(const char *code);
/* New reference to the value of an expression evaluated in __main__, or NULL (printed). */
PyObject *unit_py_eval(const char *expr);
/* Stores obj (borrowed) as __main__.<name>; -1 on error. */
int unit_py_set(const char *name, PyObject *obj);
/* The pending Python exception as "TypeName: str(exc)", malloc'd, and clears it; NULL
 * when no exception is set. */
char *unit_py_take_error(void);
/* Live pymalloc blocks after a full collection: how a leaked reference shows (0 when
 * PYTHONMALLOC=malloc, as under valgrind, which finds those leaks itself). Run the code
 * under test a few times first: caches (interned names, type caches) fill once. */
Py_ssize_t unit_py_blocks(void);

/* How many pymalloc blocks calling fn(arg) `calls` times leaves behind: the smallest
 * growth over three rounds, after a warm-up round. A reference leaked per call shows as at
 * least `calls`; CPython's caches and free lists as a bounded, unsteady few dozen. With
 * PYTHONMALLOC=malloc (under valgrind) there is nothing to count: fn runs 3 times, 0. */
Py_ssize_t unit_py_growth(void (*fn)(void *), void *arg, int calls);

/* Fails the test unless the expression is true in __main__ (errors are printed). */
#define ck_assert_py(expr) \
    ck_assert_msg(unit_py_truth(expr) == 1, "Python expression is not true: %s", expr)
int unit_py_truth(const char *expr);

/* Fails unless got[0..glen) == want[0..wlen); the message shows both, C-escaped. */
#define ck_assert_bytes(got, glen, want, wlen) \
    ck_assert_msg(unit_bytes_equal((got), (glen), (want), (wlen)), "%s", unit_last_diff)
#define ck_assert_bytes_str(got, glen, want) ck_assert_bytes((got), (glen), (want), strlen(want))
/* Fails unless got[0..glen) starts with the string literal `lit`. */
#define ck_assert_prefix(got, glen, lit) \
    ck_assert_msg(unit_bytes_equal((got), (glen) < sizeof(lit) - 1 ? (glen) : sizeof(lit) - 1, \
                                   (lit), sizeof(lit) - 1), \
                  "prefix: %s", unit_last_diff)
int unit_bytes_equal(const char *got, size_t glen, const char *want, size_t wlen);
extern char unit_last_diff[];

/* Redirects fd 1 or 2 to a temporary file until unit_capture_end, which restores it and
 * returns what was written (malloc'd, NUL-terminated, length in *len). No assertion may
 * run in between: with CK_FORK=no a failure would leave the fd redirected. */
typedef struct {
    int fd, saved;
    FILE *tmp;
} unit_capture;
void unit_capture_begin(unit_capture *c, int fd);
char *unit_capture_end(unit_capture *c, size_t *len);

/* Runs fn(arg) in a forked child that is killed after `seconds`. Returns fn's return value
 * (0..255), UNIT_CHILD_SIGNAL + the signal number when the child died of one (SIGALRM: it
 * hung), or UNIT_CHILD_EXITED + status when it exited before fn returned. For calls into
 * host that may crash or never return, so that one such bug cannot take the rest of a
 * valgrind run (CK_FORK=no: one process) down with it. */
#define UNIT_CHILD_EXITED 500
#define UNIT_CHILD_SIGNAL 1000
int unit_in_child(int (*fn)(void *), void *arg, unsigned seconds);
/* Words for unit_in_child's result in a failure message: "hung (killed by its alarm)",
 * "died of signal 11 (Segmentation fault)", "returned 1". */
const char *unit_child_outcome(int rc);

/* Makes a fresh directory under $TMPDIR (or /tmp); returns a malloc'd path. */
char *unit_mkdtemp(void);
/* Writes a file; 0 or -1. */
int unit_write_file(const char *path, const char *text);
/* rm -rf of a directory made by unit_mkdtemp. */
void unit_rmtree(const char *dir);

/* A task root for the suites that import handlers: a unit_mkdtemp folder holding `file`
 * with `source` (none when file is NULL), set up as host sets it up (setup(): on sys.path,
 * the log sink on stdout), then `code` run in __main__ (the suite's imports). The folder's
 * path, for unit_task_root_free; NULL after printing why. */
char *unit_task_root(const char *file, const char *source, const char *code);
void unit_task_root_free(char *root);

/* Points *iv at the handler `expr` evaluates to in __main__ ("h.echo"), after clearing it. */
void unit_use_handler(invoker *iv, const char *expr);

/* Runs the suite; returns the process exit status. */
int unit_main(Suite *s);

#endif
