#include "interp.h"

#include <Python.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyrt.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define STDLIB_LANDMARK "lib/python" STR(PY_MAJOR_VERSION) "." STR(PY_MINOR_VERSION) "/os.py"

static char home[PATH_MAX];

const char *interp_home(void)
{
    return home[0] ? home : NULL;
}

/* Sets `home` to the executable's directory if it carries its own stdlib. */
static void find_relocated_home(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    char landmark[PATH_MAX + sizeof STDLIB_LANDMARK + 1];
    snprintf(landmark, sizeof landmark, "%s/%s", exe, STDLIB_LANDMARK);
    if (access(landmark, R_OK) == 0)
        snprintf(home, sizeof home, "%s", exe);
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
    find_relocated_home();
    /* `host local` without --system-packages: nothing from the build machine's
     * site-packages/dist-packages, as on Lambda (sam_env.c sets it). */
    if (getenv("_HOST_NO_SYSTEM_SITE"))
        config.site_import = 0;
    if (home[0]) {
        /* A layer has no sitecustomize, no user site and no .pth files in its stdlib
         * site-packages: bootstrap.py does the rest of site's work for a fraction of
         * its start-up cost (see _site_for_layer). */
        config.site_import = 0;
        if (check(PyConfig_SetBytesString(&config, &config.home, home), &config, "home") < 0)
            return -1;
        /* The layer keeps everything under lib/, whatever the building distribution
         * calls it (AL2023's python3.11 says lib64). */
        if (check(PyConfig_SetString(&config, &config.platlibdir, L"lib"), &config, "platlibdir") < 0)
            return -1;
    }
    if (check(Py_InitializeFromConfig(&config), &config, "init") < 0)
        return -1;
    PyConfig_Clear(&config);
    return 0;
}
