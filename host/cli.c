#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_print_help(void)
{
    fputs(
        "usage: host [--runtime] [HANDLER]\n"
        "       host --local EVENT [--local EVENT ...] [options]\n"
        "       host --python [PYTHON-ARGS]    (python3: see below)\n"
        "       host local invoke|start-api|start-lambda|generate-event ...  (see host local --help)\n"
        "       host --help | --version\n"
        "\n"
        "A native AWS Lambda runtime for Python handlers written for the official runtime.\n"
        "\n"
        "Runtime mode (the default when AWS_LAMBDA_RUNTIME_API is set; what /opt/bootstrap runs):\n"
        "  Imports HANDLER (default: $_HANDLER) from $LAMBDA_TASK_ROOT (default: the current\n"
        "  directory) and serves invocations from the Runtime API at $AWS_LAMBDA_RUNTIME_API.\n"
        "  --runtime              runtime mode even without AWS_LAMBDA_RUNTIME_API (it is still\n"
        "                         required to reach the API)\n"
        "\n"
        "Local mode: run the handler in this process on event files, no AWS, no Docker.\n"
        "  --local EVENT          an event file (JSON); '-' reads stdin; a .jsonl file holds one\n"
        "                         event per line. Repeat to run several events in one warm\n"
        "                         process: init runs once, module state persists.\n"
        "  --handler MOD.FN       the handler (default: $_HANDLER, else lambda_function.lambda_handler);\n"
        "                         also pkg.sub.mod.fn and pkg/sub/mod.fn\n"
        "  --task-root DIR        where the handler's code is (default: the current directory)\n"
        "  --env-vars FILE        a JSON object of environment variables to set before init\n"
        "                         (SAM's {\"Parameters\": {...}, \"<function>\": {...}} form works too)\n"
        "  --timeout SECONDS      the invocation deadline (default 3); a handler running past it\n"
        "                         is stopped and reported as Lambda reports it\n"
        "  --function-name NAME   AWS_LAMBDA_FUNCTION_NAME and the context's function_name\n"
        "                         (default: host-local)\n"
        "  --memory-size MB       AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default: 128)\n"
        "  --region REGION        AWS_REGION and AWS_DEFAULT_REGION (default: either variable,\n"
        "                         else the AWS profile's region, else us-east-1)\n"
        "  Output: each result (or error) JSON on its own line on stdout; the handler's output,\n"
        "  logs and a Lambda-style REPORT line per event on stderr. A streaming handler (a\n"
        "  generator) writes each chunk to stdout as it is yielded, its HTTP status and\n"
        "  headers to stderr.\n"
        "  After a timeout the next event gets a fresh init, as Lambda resets the sandbox.\n"
        "  Exit status: 0 all events succeeded, 1 a handler failed, 2 a usage or init error,\n"
        "  130 interrupted (Ctrl-C).\n"
        "\n"
        "Python: host started under the name python3 (also python, python3.N: make's\n"
        "  build/python3 and the layer's bin/python3 are links to host) is the Python\n"
        "  interpreter, with python3's arguments, output and exit statuses, and nothing of\n"
        "  Lambda's; so is 'host --python PYTHON-ARGS'. A handler's sys.executable names such a\n"
        "  link, so subprocess and multiprocessing work; \"\" when there is none.\n"
        "\n"
        "  --help                 this text\n"
        "  --version              host's version and the embedded Python's\n"
        "\n"
        "Environment: AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_LOG_FORMAT,\n"
        "AWS_LAMBDA_LOG_LEVEL, _LAMBDA_TELEMETRY_LOG_FD, PYTHONPATH, the AWS_LAMBDA_FUNCTION_* and\n"
        "AWS_LAMBDA_LOG_* variables the context object reads, and HOST_DEBUG=1 (host's own\n"
        "diagnostics on stderr in runtime mode). See README.md.\n",
        stdout);
}

int cli_usage_error(const char *command, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", command);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun '%s --help' for the usage.\n", command);
    return -1;
}

static int usage_error(const char *fmt, const char *arg)
{
    return cli_usage_error("host", fmt, arg);
}

/* "--name VALUE" or "--name=VALUE"; NULL when argv[*i] is not --name. */
static const char *option_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int parse_timeout(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v > 0) || v > 86400)
        return usage_error("--timeout wants a number of seconds above 0, not '%s'", s);
    *out = v;
    return 0;
}

static int parse_memory(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 1048576)
        return usage_error("--memory-size wants a whole number of megabytes, not '%s'", s);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* argv[i] is a python interpreter and argv[i + 1] the managed runtime's bootstrap.py. */
static int is_exec_wrapper_call(int argc, char **argv, int i)
{
    if (i + 1 >= argc)
        return 0;
    const char *base = strrchr(argv[i], '/');
    base = base ? base + 1 : argv[i];
    return strncmp(base, "python", 6) == 0 && ends_with(argv[i + 1], "/bootstrap.py");
}

static int parse_one(int argc, char **argv, int *i, host_options *o)
{
    const char *a = argv[*i], *v;
    int missing = 0;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        o->mode = MODE_HELP;
    else if (strcmp(a, "--version") == 0)
        o->mode = MODE_VERSION;
    else if (strcmp(a, "--runtime") == 0)
        o->runtime_flag = 1;
    else if ((v = option_value(argc, argv, i, "--local", &missing)))
        o->events[o->n_events++] = v;
    else if ((v = option_value(argc, argv, i, "--handler", &missing)))
        o->handler = v;
    else if ((v = option_value(argc, argv, i, "--task-root", &missing)))
        o->task_root = v;
    else if ((v = option_value(argc, argv, i, "--env-vars", &missing)))
        o->env_vars = v;
    else if ((v = option_value(argc, argv, i, "--timeout", &missing)))
        return parse_timeout(v, &o->timeout);
    else if ((v = option_value(argc, argv, i, "--region", &missing)))
        o->region = v;
    else if ((v = option_value(argc, argv, i, "--function-name", &missing)))
        o->function_name = v;
    else if ((v = option_value(argc, argv, i, "--memory-size", &missing))) {
        o->memory_size = v;
        return parse_memory(v);
    } else if (missing)
        return usage_error("%s needs a value", a);
    else if (a[0] == '-' && a[1] != '\0')
        return usage_error("unknown option '%s'", a);
    else if (is_exec_wrapper_call(argc, argv, *i)) {
        /* Started as AWS_LAMBDA_EXEC_WRAPPER on a managed runtime, host is handed the
         * managed command: "/var/lang/bin/python3.X /var/runtime/bootstrap.py". host
         * replaces it, so both are skipped; _HANDLER names the handler. */
        ++*i;
    } else if (!o->handler)
        o->handler = a; /* positional HANDLER, as `bootstrap HANDLER` */
    else
        return usage_error("unexpected argument '%s'", a);
    if (missing)
        return usage_error("%s needs a value", a);
    return 0;
}

int cli_parse(int argc, char **argv, host_options *o)
{
    memset(o, 0, sizeof *o);
    o->timeout = 3.0;
    o->mode = MODE_RUNTIME;
    o->events = calloc((size_t)argc + 1, sizeof *o->events);
    if (!o->events)
        return usage_error("%s", "out of memory");
    for (int i = 1; i < argc; i++) {
        if (parse_one(argc, argv, &i, o) < 0)
            return -1;
    }
    if (o->mode == MODE_HELP || o->mode == MODE_VERSION)
        return 0;
    int runtime_flag = o->runtime_flag;
    if (o->n_events > 0 && runtime_flag)
        return usage_error("%s", "--local and --runtime cannot be combined");
    if (o->n_events > 0) {
        o->mode = MODE_LOCAL;
        return 0;
    }
    o->mode = MODE_RUNTIME;
    if (!runtime_flag && !getenv("AWS_LAMBDA_RUNTIME_API"))
        return usage_error("%s", "nothing to do: AWS_LAMBDA_RUNTIME_API is not set. Run a handler "
                                 "locally with 'host --local EVENT.json --handler MOD.FN', or set "
                                 "AWS_LAMBDA_RUNTIME_API=HOST:PORT to serve a Runtime API.");
    return 0;
}

const char *cli_handler(const host_options *o)
{
    if (o->handler)
        return o->handler;
    const char *h = getenv("_HANDLER");
    if (h)
        return h;
    return o->mode == MODE_LOCAL ? DEFAULT_LOCAL_HANDLER : "";
}

const char *cli_task_root(const host_options *o)
{
    if (o->task_root)
        return o->task_root;
    return o->mode == MODE_RUNTIME ? getenv("LAMBDA_TASK_ROOT") : NULL;
}

void cli_free(host_options *o)
{
    free(o->events);
    o->events = NULL;
}
