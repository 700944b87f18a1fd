/* sam_watch: code-change detection with inotify (see sam_watch.h). */
#include "sam_watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY)
#define MAX_DEPTH 16

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* What a running function or an editor writes, not code: bytecode, logs, databases,
 * editors' swap and backup files, hidden files and folders. */
static int ignored(const char *name)
{
    static const char *const suffixes[] = {".pyc", ".log", ".db", ".sqlite", ".sqlite3", "-journal",
                                           "-wal", "-shm", ".tmp", ".swp", "~", NULL};
    size_t n = strlen(name);
    if (name[0] == '.' || strcmp(name, "__pycache__") == 0 || strcmp(name, "node_modules") == 0)
        return 1;
    for (int i = 0; suffixes[i]; i++)
        if (ends_with(name, n, suffixes[i]))
            return 1;
    return 0;
}

static void add_tree(sam_watch *w, const char *dir, int depth)
{
    if (depth > MAX_DEPTH || inotify_add_watch(w->fd, dir, WATCH_MASK) < 0)
        return;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_type != DT_DIR || ignored(de->d_name))
            continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name) < (int)sizeof sub)
            add_tree(w, sub, depth + 1);
    }
    if (d)
        closedir(d);
}

void sam_watch_open(sam_watch *w, const char *dir)
{
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0) {
        fprintf(stderr, "host local: cannot watch %s for changes: %s\n", dir, strerror(errno));
        return;
    }
    snprintf(w->root, sizeof w->root, "%s", dir);
    add_tree(w, dir, 0);
}

int sam_watch_changed(sam_watch *w)
{
    if (w->fd < 0)
        return 0;
    char events[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    int changed = 0;
    ssize_t n;
    while ((n = read(w->fd, events, sizeof events)) > 0) {
        for (char *p = events; p < events + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->len > 0 && !ignored(ev->name))
                changed = 1;
            p += sizeof *ev + ev->len;
        }
    }
    if (changed)
        add_tree(w, w->root, 0);
    return changed;
}

void sam_watch_close(sam_watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}
