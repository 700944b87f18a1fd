#include "workers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int worker;

int workers_is_worker(void)
{
    return worker;
}

int workers_requested(void)
{
    const char *v = getenv("AWS_LAMBDA_MAX_CONCURRENCY");
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 1 || n > 4096) {
        fprintf(stderr, "host: AWS_LAMBDA_MAX_CONCURRENCY must be a positive integer, not '%s'\n", v);
        return -1;
    }
    return (int)n;
}

/* _LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET: each worker's stdout and stderr become
 * two connections to that Unix socket. */
static void connect_log_sockets(void)
{
    const char *path = getenv("_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET");
    if (!path || !*path)
        return;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    for (int fd = 1; fd <= 2; fd++) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
            fprintf(stderr, "host: cannot connect the log socket %s: %s\n", path, strerror(errno));
            if (s >= 0)
                close(s);
            return;
        }
        dup2(s, fd);
        close(s);
    }
}

int workers_run(int n, int *is_parent)
{
    *is_parent = 1;
    fflush(NULL);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "host: cannot start worker %d: %s\n", i + 1, strerror(errno));
            break;
        }
        if (pid == 0) {
            *is_parent = 0;
            worker = 1;
            /* A worker never outlives the process that Lambda (or a test) started. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() == 1)
                _exit(1);
            connect_log_sockets();
            return 0;
        }
    }
    int rc = 0, status;
    pid_t pid;
    while ((pid = wait(&status)) > 0 || (pid < 0 && errno == EINTR)) {
        if (pid < 0)
            continue;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code != 0) {
            fprintf(stderr, "host: worker %d exited with status %d\n", (int)pid, code);
            rc = code;
        }
    }
    return rc;
}
