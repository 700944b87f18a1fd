/* tcp_pingpong: the kernel's floor for one TCP loopback round trip (100-byte messages,
 * TCP_NODELAY, blocking read/write) between two processes. Pinned to one core it bounds
 * any Runtime API loop from below: one invoke is two round trips (GET next, POST response).
 * usage: tcp_pingpong [N] -> {"rtt_us": ...} */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void rw(int fd, char *buf, int write_first)
{
    if (write_first && write(fd, buf, 100) != 100)
        exit(1);
    if (read(fd, buf, 256) <= 0)
        exit(0);
    if (!write_first && write(fd, buf, 100) != 100)
        exit(1);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50000, one = 1;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&sa, &sl) < 0)
        return 1;
    char buf[256] = {0};
    pid_t pid = fork();
    if (pid == 0) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
            return 1;
        for (int i = 0; i < n + 1000; i++)
            rw(fd, buf, 1);
        return 0;
    }
    int c = accept(l, NULL, NULL);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < 1000; i++)
        rw(c, buf, 0);
    double t0 = now();
    for (int i = 0; i < n; i++)
        rw(c, buf, 0);
    double t1 = now();
    waitpid(pid, NULL, 0);
    printf("{\"rtt_us\":%.2f,\"n\":%d}\n", (t1 - t0) / n * 1e6, n);
    return 0;
}
