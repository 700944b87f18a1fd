/* local: `host --local EVENT...`: the handler run on event files with a Lambda-like
 * environment, deadline and REPORT lines; no server, no AWS, no Docker. Events run in a
 * sandbox process that inits once; after a timeout the next event gets a fresh sandbox
 * (a fresh init), as Lambda resets the execution environment. */
#ifndef HOST_LOCAL_H
#define HOST_LOCAL_H

#include <stddef.h>

#include "cli.h"

typedef struct {
    char *data;   /* the event's bytes, NUL-terminated */
    size_t len;
    char *label;  /* "file.json" or "file.jsonl:3", for messages */
} local_event;

typedef struct {
    local_event *events;
    size_t n;
    char *task_root;    /* absolute; owned */
    int result_fd;      /* the original stdout: results go here, everything else to stderr */
    double started_ms;  /* process start, for Init Duration */
} local_session;

/* Runs every event; returns the exit status (0 all succeeded, 1 a handler failed, 2 a
 * usage or init error, 130 interrupted). */
int local_main(const host_options *o, const char *argv0, double started_ms);

/* Monotonic milliseconds. */
double local_now_ms(void);

#endif
