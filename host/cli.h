/* cli: host's command line. `host --help` is the manual; keep it and README.md in step. */
#ifndef HOST_CLI_H
#define HOST_CLI_H

#define HOST_VERSION "0.1.0"

typedef enum { MODE_RUNTIME, MODE_LOCAL, MODE_HELP, MODE_VERSION } host_mode;

typedef struct {
    host_mode mode;
    const char *handler;       /* --handler / positional; NULL: _HANDLER, then the default */
    const char *task_root;     /* --task-root; NULL: LAMBDA_TASK_ROOT (runtime) or cwd */
    const char *env_vars;      /* --env-vars FILE */
    double timeout;            /* --timeout SECONDS (local mode) */
    const char *function_name; /* --function-name */
    const char *memory_size;   /* --memory-size */
    const char *region;        /* --region */
    const char **events;       /* --local EVENT..., owned array of borrowed argv strings */
    int n_events;
    int runtime_flag;          /* --runtime was given */
} host_options;

/* Parses argv; on a usage error prints it (with the fix) to stderr and returns -1. */
int cli_parse(int argc, char **argv, host_options *o);
void cli_free(host_options *o);

#define DEFAULT_LOCAL_HANDLER "lambda_function.lambda_handler"

/* The handler to import: --handler or the positional HANDLER, else $_HANDLER, else
 * (local mode) DEFAULT_LOCAL_HANDLER. */
const char *cli_handler(const host_options *o);

/* The task root asked for: --task-root, else (runtime mode) $LAMBDA_TASK_ROOT; NULL means
 * the current directory. */
const char *cli_task_root(const host_options *o);
void cli_print_help(void);

/* "COMMAND: <fmt with arg>" and where the usage is, on stderr; returns -1. */
int cli_usage_error(const char *command, const char *fmt, const char *arg);

#endif
