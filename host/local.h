/* local: `host --local EVENT...`: the handler run in-process on event files, with a
 * Lambda-like environment, deadline and REPORT lines; no server, no AWS, no Docker. */
#ifndef HOST_LOCAL_H
#define HOST_LOCAL_H

#include "cli.h"
#include "pyrt.h"

typedef struct {
    char *data;   /* the event's bytes, NUL-terminated */
    size_t len;
    char *label;  /* "file.json" or "file.jsonl:3", for messages */
} local_event;

typedef struct {
    local_event *events;
    size_t n;
    int result_fd;      /* the original stdout: results go here, everything else to stderr */
    double started_ms;  /* process start, for Init Duration */
} local_session;

/* Before Python starts: reads and validates the events, sets the Lambda environment
 * variables, applies --env-vars, enters the task root and sends fd 1 to stderr.
 * On a usage error prints it and returns -1 (exit status 2). */
int local_prepare(const host_options *o, local_session *s, double started_ms);

/* Imports the handler and runs every event; returns the exit status (0, 1 or 2). */
int local_run(const host_options *o, local_session *s, pyrt_t *rt, const char *handler_name);

void local_session_free(local_session *s);

/* Monotonic milliseconds. */
double local_now_ms(void);

#endif
