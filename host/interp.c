/* interp: CPython start-up for host's own modes, the layer's home, sys.executable. */
#include "interp.h"

#include <Python.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyrt.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define STDLIB_LANDMARK "lib/python" STR(PY_MAJOR_VERSION) "." STR(PY_MINOR_VERSION) "/os.py"
#define SELF_EXE "/proc/self/exe"

static char home[PATH_MAX];

const char *interp_home(void)
{
    return home[0] ? home : NULL;
}

/* The directory of host's own binary (the kernel's path: symlinks resolved) into dir;
 * -1 when it cannot be read. */
static int self_dir(char *dir, size_t n)
{
    ssize_t len = readlink(SELF_EXE, dir, n - 1);
    if (len <= 0)
        return -1;
    dir[len] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

/* Sets `home` to the executable's directory if it carries its own stdlib. */
static void find_relocated_home(void)
{
    char dir[PATH_MAX];
    if (self_dir(dir, sizeof dir) < 0)
        return;
    char landmark[PATH_MAX + sizeof STDLIB_LANDMARK + 1];
    snprintf(landmark, sizeof landmark, "%s/%s", dir, STDLIB_LANDMARK);
    if (access(landmark, R_OK) == 0)
        snprintf(home, sizeof home, "%s", dir);
}

PyStatus interp_config_home(PyConfig *config)
{
    find_relocated_home();
    if (!home[0])
        return PyStatus_Ok();
    PyStatus status = PyConfig_SetBytesString(config, &config->home, home);
    if (PyStatus_Exception(status))
        return status;
    /* The layer keeps everything under lib/, whatever the building distribution calls
     * it (AL2023's python3.11 says lib64). */
    return PyConfig_SetString(config, &config->platlibdir, L"lib");
}

/* Where a python3 entry may sit, relative to the directory of host's binary: beside it
 * (make's build/python3), in bin/ beside it (the layer's /opt/bin/python3, on Lambda's
 * PATH), and make install's $(PREFIX)/lib/host/python3 for $(PREFIX)/bin/host, which
 * stays off PATH so the machine's own python3 is never shadowed. `up` directories are
 * dropped from the end of DIR first (a lexical "..": the entry itself is a symlink, so
 * realpath would name host). */
static const struct {
    int up;
    const char *name;
} PYTHON_ENTRIES[] = {{0, "python3"}, {0, "bin/python3"}, {1, "lib/host/python3"}};

/* 1 when path is the file st describes. */
static int is_same_file(const char *path, const struct stat *st)
{
    struct stat other;
    return stat(path, &other) == 0 && other.st_dev == st->st_dev && other.st_ino == st->st_ino;
}

void interp_python_entry(char *out, size_t n)
{
    out[0] = '\0';
    struct stat self;
    char dir[PATH_MAX];
    if (stat(SELF_EXE, &self) < 0 || self_dir(dir, sizeof dir) < 0)
        return;
    for (size_t i = 0; i < sizeof PYTHON_ENTRIES / sizeof PYTHON_ENTRIES[0]; i++) {
        char base[PATH_MAX];
        snprintf(base, sizeof base, "%s", dir);
        for (int up = 0; up < PYTHON_ENTRIES[i].up; up++) {
            char *slash = strrchr(base, '/');
            if (slash)
                *slash = '\0';
        }
        int len = snprintf(out, n, "%s/%s", base, PYTHON_ENTRIES[i].name);
        if (len > 0 && (size_t)len < n && is_same_file(out, &self))
            return;
    }
    out[0] = '\0';
}

int interp_set_executable(void)
{
    char entry[PATH_MAX];
    interp_python_entry(entry, sizeof entry);
    PyObject *path = PyUnicode_DecodeFSDefault(entry);
    if (!path)
        return -1;
    int rc = -1;
    if (PySys_SetObject("executable", path) < 0)
        goto done;
    if (PySys_SetObject("_base_executable", path) < 0)
        goto done;
    rc = 0;
done:
    Py_DECREF(path);
    return rc;
}

static int check(PyStatus status, PyConfig *config, const char *what)
{
    if (!PyStatus_Exception(status))
        return 0;
    fprintf(stderr, "host: cannot start Python (%s): %s%s%s\n", what,
            status.func ? status.func : "", status.func ? ": " : "",
            status.err_msg ? status.err_msg : "unknown error");
    PyConfig_Clear(config);
    return -1;
}

int interp_start(const char *argv0)
{
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    /* Unbuffered stdio: every print reaches the log at once, as the official runtime's
     * flush-after-write wrappers ensure; nothing is lost if the process dies. */
    config.buffered_stdio = 0;
    config.parse_argv = 0;
    config.install_signal_handlers = 1;
    /* A crash in C code still shows where the Python code was (stderr), then chains
     * to crash.c's handlers, which report the invocation. */
    config.faulthandler = 1;

    if (PyImport_AppendInittab("_host", pyrt_init_host_module) < 0) {
        fprintf(stderr, "host: cannot register the _host module\n");
        return -1;
    }
    char *argv[] = {(char *)argv0, NULL};
    if (check(PyConfig_SetBytesArgv(&config, 1, argv), &config, "argv") < 0)
        return -1;
    if (check(interp_config_home(&config), &config, "home") < 0)
        return -1;
    /* `host local` without --system-packages: nothing from the build machine's
     * site-packages/dist-packages, as on Lambda (sam_env.c sets it). */
    if (getenv("_HOST_NO_SYSTEM_SITE"))
        config.site_import = 0;
    if (home[0]) {
        /* A layer has no sitecustomize, no user site and no .pth files in its stdlib
         * site-packages: bootstrap.py does the rest of site's work for a fraction of
         * its start-up cost (see _site_for_layer). */
        config.site_import = 0;
    }
    if (check(Py_InitializeFromConfig(&config), &config, "init") < 0)
        return -1;
    PyConfig_Clear(&config);
    /* Set after start-up, not through config.executable, which CPython would also use
     * to look for its prefix. */
    if (interp_set_executable() < 0) {
        PyErr_Print();
        fprintf(stderr, "host: cannot set sys.executable\n");
        Py_FinalizeEx();
        return -1;
    }
    return 0;
}
