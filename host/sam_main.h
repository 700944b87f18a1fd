/* sam_main: `host local invoke | start-api | start-lambda | generate-event`, the Docker-free
 * counterparts of `sam local ...`: the command line, the template, and the dispatch. */
#ifndef HOST_SAM_MAIN_H
#define HOST_SAM_MAIN_H

#include <jansson.h>

#include "sam_env.h"
#include "sam_template.h"

#define SAM_DEFAULT_WORKERS 4

typedef struct {
    const char *command;        /* "invoke", "start-api", ... */
    const char *template_path;  /* -t / --template (default template.yaml, else template.yml) */
    const char *function_id;    /* invoke's FUNCTION_ID */
    const char *event;          /* -e / --event FILE or -; NULL: {} */
    json_t *params;             /* --parameter-overrides, owned */
    sam_env_options env;
    int debug;                  /* --debug: no timeout, one worker, stdin attached */
    const char *host;           /* --host (default 127.0.0.1) */
    int port;                   /* -p / --port */
    int workers;                /* --workers N per function */
    int warm;                   /* --warm (or --warm-containers EAGER) */
    int watch;                  /* --watch / --no-watch */
    const char *log_file;       /* -l / --log-file FILE: stderr goes there */
    const char *handler;        /* --handler MOD.FN: one function named "function", no template */
    const char *task_root;      /* --task-root DIR for --handler (default: the current folder) */
    double timeout;             /* --timeout for --handler (default 3) */
    char **rest;                /* generate-event's words */
    int n_rest;
} sam_options;

/* `host local ...`: argv[0] is "local". Returns the exit status. */
int sam_main(int argc, char **argv);

/* The functions to serve: the template's, or the one --handler names. -1 and a message. */
int sam_load_functions(const sam_options *o, sam_template *t);

#endif
