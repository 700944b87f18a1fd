/* pymain: host as the CPython interpreter (CPython's own main, the layer's home). */
#include "pymain.h"

#include <Python.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "interp.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define PYTHON_OPTION "--python"
#define VERSIONED_NAME "python" STR(PY_MAJOR_VERSION) "."
/* Where a layer carries its Python packages (boto3), relative to its home. */
#define LAYER_PACKAGES \
    "python/lib/python" STR(PY_MAJOR_VERSION) "." STR(PY_MINOR_VERSION) "/site-packages"

/* python, python3 or python3.N (N: digits), as the basename of argv[0]. */
static int is_python_name(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    if (strcmp(base, "python") == 0 || strcmp(base, "python" STR(PY_MAJOR_VERSION)) == 0)
        return 1;
    size_t n = strlen(VERSIONED_NAME);
    if (strncmp(base, VERSIONED_NAME, n) != 0 || base[n] == '\0')
        return 0;
    for (const char *p = base + n; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
    }
    return 1;
}

int pymain_wanted(int argc, char **argv)
{
    if (argc < 1 || !argv[0])
        return 0;
    return is_python_name(argv[0]) || (argc >= 2 && strcmp(argv[1], PYTHON_OPTION) == 0);
}

/* 1 unless site is off (-S, -I does not turn it off), -1 with a Python error. */
static int site_enabled(void)
{
    PyObject *flags = PySys_GetObject("flags"); /* Borrowed. */
    if (!flags) {
        PyErr_SetString(PyExc_RuntimeError, "sys.flags is missing");
        return -1;
    }
    PyObject *no_site = PyObject_GetAttrString(flags, "no_site");
    if (!no_site)
        return -1;
    int off = PyObject_IsTrue(no_site);
    Py_DECREF(no_site);
    return off < 0 ? -1 : !off;
}

/* A layer's packages (HOME/python/lib/pythonX.Y/site-packages: boto3) are site-packages
 * for a python3 started from the layer, as /var/lang/lib/pythonX.Y/site-packages (where
 * the managed runtime keeps its boto3) is for a python3 started on a managed runtime.
 * Added as site adds site-packages: after the standard library, .pth files processed,
 * and only when site runs. 0, or -1 with a Python error. */
static int add_layer_packages(void)
{
    const char *home = interp_home();
    if (!home)
        return 0;
    int enabled = site_enabled();
    if (enabled <= 0)
        return enabled;
    char dir[PATH_MAX + sizeof LAYER_PACKAGES + 1];
    snprintf(dir, sizeof dir, "%s/%s", home, LAYER_PACKAGES);
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    int rc = -1;
    PyObject *path = NULL, *result = NULL;
    PyObject *site = PyImport_ImportModule("site");
    if (!site)
        goto done;
    path = PyUnicode_DecodeFSDefault(dir);
    if (!path)
        goto done;
    result = PyObject_CallMethod(site, "addsitedir", "O", path);
    if (result)
        rc = 0;
done:
    Py_XDECREF(result);
    Py_XDECREF(path);
    Py_XDECREF(site);
    return rc;
}

/* What runs between start-up and __main__. 0, or -1 with a Python error. */
static int prepare_main(int via_option)
{
    if (add_layer_packages() < 0)
        return -1;
    /* Started as host, CPython names host as sys.executable: a child started through it
     * would be host's runtime, not a Python. */
    if (via_option && interp_set_executable() < 0)
        return -1;
    return 0;
}

int pymain_run(int argc, char **argv)
{
    int via_option = !is_python_name(argv[0]);
    if (via_option) {
        /* host --python ARGS: CPython sees ARGS after host's own name. */
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    PyConfig config;
    /* python3's own configuration: parse_argv on, the PYTHON* variables read. */
    PyConfig_InitPythonConfig(&config);
    PyStatus status = PyConfig_SetBytesArgv(&config, argc, argv);
    if (PyStatus_Exception(status))
        goto fail;
    status = interp_config_home(&config);
    if (PyStatus_Exception(status))
        goto fail;
    status = Py_InitializeFromConfig(&config);
    if (PyStatus_Exception(status))
        goto fail;
    PyConfig_Clear(&config);
    if (prepare_main(via_option) < 0) {
        PyErr_Print();
        Py_FinalizeEx();
        return 1;
    }
    return Py_RunMain();
fail:
    PyConfig_Clear(&config);
    /* As python3: an exit status (--version, a usage error) exits with it; an error is
     * reported as "Fatal Python error: ..." and exits 1. */
    Py_ExitStatusException(status);
}
