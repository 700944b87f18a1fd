/* bare_rss: the peak RSS of a bare dynamically linked C process: prints its own VmHWM (kB). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            printf("%ld\n", strtol(line + 6, NULL, 10));
            return 0;
        }
    return 1;
}
