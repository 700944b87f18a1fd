/* host: a native AWS Lambda runtime for Python. This file only wires the pieces:
 * cli (arguments) -> local mode (local.c) or runtime mode (workers.c, runtime.c), each of
 * which runs a session (session.c: interpreter, handler import, loop); or pymain (host
 * started as python3 is the interpreter). */
#include <Python.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "cli.h"
#include "crash.h"
#include "local.h"
#include "pymain.h"
#include "runtime.h"
#ifndef HOST_NO_LOCAL_TOOLS
#include "sam_main.h"
#endif
#include "workers.h"

/* Runtime mode: N worker processes when Managed Instances ask for them, then this
 * process (or each worker) serves the Runtime API. */
static int run_runtime(const host_options *o, const char *argv0)
{
    int n = workers_requested(), is_parent = 0;
    if (n < 0)
        return 1;
    if (n > 0) {
        int rc = workers_run(n, &is_parent);
        if (is_parent)
            return rc;
    }
    crash_install(getenv("AWS_LAMBDA_RUNTIME_API"), -1);
    char cwd[PATH_MAX];
    const char *root = cli_task_root(o);
    if (!root)
        root = getcwd(cwd, sizeof cwd) ? cwd : ".";
    session_config cfg = {.argv0 = argv0, .task_root = root, .handler = cli_handler(o),
                          .is_runtime = 1};
    return runtime_main(&cfg);
}

/* `host local ...`: the SAM-style local tools, which the Lambda layer's build leaves out. */
static int local_tools(int argc, char **argv)
{
#ifdef HOST_NO_LOCAL_TOOLS
    (void)argc, (void)argv;
    fputs("host: `host local` is not in this build (the Lambda layer's bootstrap carries the "
          "runtime only); use the host that `make` builds\n", stderr);
    return 2;
#else
    return sam_main(argc, argv);
#endif
}

int main(int argc, char **argv)
{
    if (pymain_wanted(argc, argv))
        return pymain_run(argc, argv);
    if (argc > 1 && strcmp(argv[1], "local") == 0)
        return local_tools(argc - 1, argv + 1);
    double started = local_now_ms();
    host_options o;
    int rc;
    if (cli_parse(argc, argv, &o) < 0)
        rc = 2;
    else if (o.mode == MODE_HELP)
        rc = (cli_print_help(), 0);
    else if (o.mode == MODE_VERSION)
        rc = (printf("host %s (embedded Python %s)\n", HOST_VERSION, PY_VERSION), 0);
    else if (o.mode == MODE_LOCAL)
        rc = local_main(&o, argv[0], started);
    else
        rc = run_runtime(&o, argv[0]);
    cli_free(&o);
    return rc;
}
