/* sam_watch: notices a change in a function's code folder (inotify, every sub-folder but
 * __pycache__ and the VCS's). Polled by the pool before each invocation: the kernel queues
 * an event when the file is written, so a change saved before a request is always seen
 * by that request, with no watcher thread. */
#ifndef HOST_SAM_WATCH_H
#define HOST_SAM_WATCH_H

typedef struct {
    int fd;          /* -1 when watching is off or unavailable */
    char root[4096]; /* the folder: re-scanned after a change, so new sub-folders are watched */
} sam_watch;

/* Watches dir; on failure says so on stderr and leaves fd -1 (the servers still run). */
void sam_watch_open(sam_watch *w, const char *dir);

/* 1 when something under the folder changed since the last call (not counting bytecode). */
int sam_watch_changed(sam_watch *w);

void sam_watch_close(sam_watch *w);

#endif
