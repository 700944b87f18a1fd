/* sam_main: the `host local` command line and `host local invoke`. */
#include "sam_main.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "sam_events.h"
#include "sam_server.h"

#define DEBUG_TIMEOUT_S 86400.0 /* --debug: as long as local mode allows, so a pdb session lives */
#define MAX_WORKERS 64
#define DEFAULT_TEMPLATE "template.yaml"
#define ALT_TEMPLATE "template.yml"

static void print_usage(FILE *f)
{
    fputs("usage: host local invoke [FUNCTION_ID] [-e EVENT|-] [options]\n"
          "       host local start-api [-p 3000] [--host 127.0.0.1] [options]\n"
          "       host local start-lambda [-p 3001] [--host 127.0.0.1] [options]\n"
          "       host local generate-event SERVICE EVENT [--FIELD VALUE ...]\n"
          "\n"
          "sam local's commands without Docker: each function runs in real host runtime processes\n"
          "behind a local Runtime API, configured from the SAM template.\n"
          "\n"
          "  -t, --template FILE         the SAM template (default: template.yaml, else template.yml)\n"
          "  -e, --event FILE|-          invoke: the event (default: {})\n"
          "  -n, --env-vars FILE         SAM's {\"Parameters\": {...}, \"FunctionId\": {...}} overrides\n"
          "                              of variables the template declares\n"
          "  --parameter-overrides K=V ...  template parameters (also ParameterKey=K,ParameterValue=V)\n"
          "  --region R, --profile P     AWS_REGION / AWS_DEFAULT_REGION and AWS_PROFILE of the function\n"
          "  --debug                     no timeout, one worker, stdin attached (breakpoint() and pdb work)\n"
          "  -d, --debug-port P          debugpy listens on 127.0.0.1:P and init waits for the editor\n"
          "  --venv DIR                  the function's virtualenv (default: $VIRTUAL_ENV, else CODE/.venv)\n"
          "  --system-packages           let the function import the build machine's site-packages\n"
          "  -p, --port P, --host H      where a server listens (start-api 3000, start-lambda 3001)\n"
          "  --workers N                 warm workers per function, then requests queue (default 4)\n"
          "  --warm                      start every function's first worker at once (default: lazily);\n"
          "                              also SAM's --warm-containers EAGER\n"
          "  --no-watch                  servers: do not restart a function's workers when its code changes\n"
          "  -l, --log-file FILE         the functions' output (and host local's lines) go to FILE\n"
          "  --handler MOD.FN            no template: one function named 'function' (the RIE's URL);\n"
          "                              with --task-root DIR (default .) and --timeout S (default 3)\n",
          f);
}

static int usage(const char *fmt, const char *arg)
{
    return cli_usage_error("host local", fmt, arg);
}

/* SAM flags about Docker and containers: no meaning when functions are local processes. */
static const char *const container_flags[] = {
    "--docker-network", "--docker-volume-basedir", "-v", "--container-env-vars", "--container-host",
    "--container-host-interface", "--add-host", "--invoke-image", "--skip-pull-image",
    "--force-image-build", "--layer-cache-basedir", "--debugger-path", "--debug-args",
    "--mount-symlinks", "--no-memory-limit", NULL};
/* SAM flags host local does not implement (yet). */
static const char *const other_sam_flags[] = {
    "--shutdown", "--debug-function", "--hook-name", "--terraform-plan-file", "--config-file",
    "--config-env", "--beta-features", "--ssl-cert-file", "--ssl-key-file", "--static-dir", "-s",
    "--disable-authorizer", "--save-params", "--terraform-project-root-path", NULL};

static int is_flag(const char *a, const char *const *list)
{
    for (int k = 0; list[k]; k++) {
        size_t n = strlen(list[k]);
        if (strncmp(a, list[k], n) == 0 && (a[n] == '\0' || a[n] == '='))
            return 1;
    }
    return 0;
}

static int number(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Matches -s/--long with a value ("--long V" or "--long=V"); NULL when argv[*i] is not it. */
static const char *value_of(int argc, char **argv, int *i, const char *s, const char *l, int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(l);
    if (strncmp(a, l, n) == 0 && a[n] == '=')
        return a + n + 1;
    if (strcmp(a, l) != 0 && !(s && strcmp(a, s) == 0))
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int parse_flag(int argc, char **argv, int *i, sam_options *o)
{
    const char *a = argv[*i], *v;
    int missing = 0;
    long n;
    char err[512];
    if (strcmp(a, "--debug") == 0)
        o->debug = 1;
    else if (strcmp(a, "--warm") == 0)
        o->warm = 1;
    else if (strcmp(a, "--watch") == 0)
        o->watch = 1;
    else if (strcmp(a, "--no-watch") == 0)
        o->watch = 0;
    else if (strcmp(a, "--system-packages") == 0)
        o->env.system_packages = 1;
    else if (strcmp(a, "--no-event") == 0)
        o->event = NULL;
    else if ((v = value_of(argc, argv, i, "-t", "--template", &missing)) ||
             (v = value_of(argc, argv, i, NULL, "--template-file", &missing)))
        o->template_path = v;
    else if ((v = value_of(argc, argv, i, "-e", "--event", &missing)))
        o->event = v;
    else if ((v = value_of(argc, argv, i, "-n", "--env-vars", &missing)))
        o->env.env_vars = v;
    else if ((v = value_of(argc, argv, i, NULL, "--region", &missing)))
        o->env.region = v;
    else if ((v = value_of(argc, argv, i, NULL, "--profile", &missing)))
        o->env.profile = v;
    else if ((v = value_of(argc, argv, i, NULL, "--venv", &missing)))
        o->env.venv = v;
    else if ((v = value_of(argc, argv, i, "--host", "--host", &missing)))
        o->host = v;
    else if ((v = value_of(argc, argv, i, NULL, "--handler", &missing)))
        o->handler = v;
    else if ((v = value_of(argc, argv, i, NULL, "--task-root", &missing)))
        o->task_root = v;
    else if ((v = value_of(argc, argv, i, "-d", "--debug-port", &missing))) {
        if (number(v, 1, 65535, &n) < 0)
            return usage("--debug-port wants a port number, not '%s'", v);
        o->env.debugpy_port = v;
    } else if ((v = value_of(argc, argv, i, "-p", "--port", &missing))) {
        if (number(v, 0, 65535, &n) < 0)
            return usage("--port wants a port number, not '%s'", v);
        o->port = (int)n;
    } else if ((v = value_of(argc, argv, i, NULL, "--workers", &missing))) {
        if (number(v, 1, MAX_WORKERS, &n) < 0)
            return usage("--workers wants a number from 1 to 64, not '%s'", v);
        o->workers = (int)n;
    } else if ((v = value_of(argc, argv, i, NULL, "--warm-containers", &missing))) {
        if (strcmp(v, "EAGER") != 0 && strcmp(v, "LAZY") != 0)
            return usage("--warm-containers is EAGER or LAZY, not '%s'", v);
        o->warm = strcmp(v, "EAGER") == 0;
    } else if ((v = value_of(argc, argv, i, NULL, "--timeout", &missing))) {
        char *end;
        o->timeout = strtod(v, &end);
        if (!*v || *end || !(o->timeout > 0) || o->timeout > 900)
            return usage("--timeout wants seconds from above 0 to 900, not '%s'", v);
    } else if ((v = value_of(argc, argv, i, NULL, "--parameter-overrides", &missing))) {
        /* SAM takes several words after one --parameter-overrides. */
        for (;;) {
            if (sam_parse_parameter_override(o->params, v, err, sizeof err) < 0)
                return usage("%s", err);
            if (*i + 1 >= argc || argv[*i + 1][0] == '-')
                break;
            v = argv[++*i];
        }
    } else if ((v = value_of(argc, argv, i, "-l", "--log-file", &missing))) {
        o->log_file = v;
    } else if (missing) {
        return usage("%s needs a value", a);
    } else if (is_flag(a, container_flags)) {
        return usage("SAM's %s is not supported by host local: it runs functions as local "
                     "processes, without Docker or containers", a);
    } else if (is_flag(a, other_sam_flags)) {
        return usage("SAM's %s is not supported by host local", a);
    } else {
        return usage("unknown option '%s'", a);
    }
    return 0;
}

static int parse(int argc, char **argv, sam_options *o)
{
    o->command = argv[1];
    o->host = "127.0.0.1";
    o->workers = SAM_DEFAULT_WORKERS;
    o->timeout = 3.0;
    o->watch = 1;
    o->port = strcmp(o->command, "start-lambda") == 0 ? 3001 : 3000;
    o->params = json_object();
    o->rest = calloc((size_t)argc + 1, sizeof *o->rest);
    if (!o->rest)
        return usage("%s", "out of memory");
    int gen = strcmp(o->command, "generate-event") == 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (gen) /* SERVICE EVENT --field value ...: read by sam_events */
            o->rest[o->n_rest++] = argv[i];
        else if (a[0] == '-' && a[1] != '\0') {
            if (parse_flag(argc, argv, &i, o) < 0)
                return -1;
        } else if (strcmp(o->command, "invoke") == 0 && !o->function_id)
            o->function_id = a;
        else
            return usage("unexpected argument '%s'", a);
    }
    if (o->debug)
        o->workers = 1;
    /* SAM's --log-file: the functions' output (and host local's lines) go to the file. */
    if (o->log_file && !freopen(o->log_file, "a", stderr))
        return usage("--log-file %s: cannot open it for writing", o->log_file);
    if (o->log_file)
        setvbuf(stderr, NULL, _IOLBF, 0);
    return 0;
}

static int one_handler_function(const sam_options *o, sam_template *t)
{
    memset(t, 0, sizeof *t);
    char *dir = realpath(o->task_root ? o->task_root : ".", NULL);
    if (!dir)
        return usage("--task-root %s: no such folder", o->task_root ? o->task_root : ".");
    t->fns = calloc(1, sizeof *t->fns);
    if (!t->fns) {
        free(dir);
        return usage("%s", "out of memory");
    }
    t->n = 1;
    sam_function *f = &t->fns[0];
    f->id = strdup("function");
    f->handler = strdup(o->handler);
    f->code_dir = dir;
    f->timeout = o->timeout;
    f->memory_mb = 128;
    f->env = json_object();
    return 0;
}

int sam_load_functions(const sam_options *o, sam_template *t)
{
    if (o->handler && !o->template_path)
        return one_handler_function(o, t);
    const char *path = o->template_path;
    if (!path)
        path = access(DEFAULT_TEMPLATE, F_OK) == 0 || access(ALT_TEMPLATE, F_OK) != 0 ? DEFAULT_TEMPLATE
                                                                                       : ALT_TEMPLATE;
    char err[2048];
    sam_template_options to = {.parameters = o->params, .region = sam_env_region(&o->env)};
    if (sam_template_load(t, path, &to, err, sizeof err) < 0) {
        fprintf(stderr, "host local: %s\n", err);
        return -1;
    }
    return 0;
}

static sam_function *pick_function(const sam_options *o, const sam_template *t)
{
    if (o->function_id) {
        sam_function *f = sam_template_find(t, o->function_id);
        if (!f)
            fprintf(stderr, "host local: the template has no function %s\n", o->function_id);
        return f;
    }
    if (t->n == 1)
        return &t->fns[0];
    fprintf(stderr, "host local: the template has %zu functions; name one:", t->n);
    for (size_t i = 0; i < t->n; i++)
        fprintf(stderr, " %s", t->fns[i].id);
    fputc('\n', stderr);
    return NULL;
}

/* No -e: the event is {}, handed to local mode as a file that needs no clean-up. */
static const char *empty_event(char *path, size_t len)
{
    int fd = memfd_create("event", 0);
    if (fd < 0 || write(fd, "{}", 2) != 2)
        return NULL;
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return path;
}

/* `host local invoke`: host's own local mode (`host --local`) with the function's handler,
 * code folder, timeout, memory and environment from the template. */
static int invoke(const sam_options *o)
{
    sam_template t;
    if (sam_load_functions(o, &t) < 0)
        return 2;
    int rc = 2;
    char **envp = NULL, err[1024], evpath[64], timeout[32], mem[32];
    sam_function *f = pick_function(o, &t);
    if (!f)
        goto err;
    if (!(envp = sam_env_build(f, &o->env, err, sizeof err))) {
        fprintf(stderr, "host local: %s\n", err);
        goto err;
    }
    const char *event = o->event ? o->event : empty_event(evpath, sizeof evpath);
    if (!event)
        goto err;
    snprintf(timeout, sizeof timeout, "%g", o->debug ? DEBUG_TIMEOUT_S : f->timeout);
    snprintf(mem, sizeof mem, "%d", f->memory_mb);
    char *argv[] = {"host", "--local", (char *)event, "--handler", f->handler, "--task-root",
                    f->code_dir, "--timeout", timeout, "--memory-size", mem, "--function-name", f->id,
                    NULL};
    fflush(NULL);
    execve(sam_env_self_exe(), argv, envp);
    perror("host local: cannot run host");
err:
    sam_env_free(envp);
    sam_template_free(&t);
    return rc;
}

int sam_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return 0;
        }
    sam_options o;
    memset(&o, 0, sizeof o);
    int rc = 2;
    const char *c = argv[1];
    if (strcmp(c, "invoke") && strcmp(c, "start-api") && strcmp(c, "start-lambda") &&
        strcmp(c, "generate-event")) {
        usage("unknown command '%s' (invoke, start-api, start-lambda, generate-event)", c);
        return 2;
    }
    if (parse(argc, argv, &o) < 0)
        goto done;
    if (strcmp(c, "invoke") == 0)
        rc = invoke(&o);
    else if (strcmp(c, "generate-event") == 0)
        rc = sam_generate_event(o.n_rest, o.rest);
    else
        rc = sam_serve(&o);
done:
    json_decref(o.params);
    free(o.rest);
    return rc;
}
