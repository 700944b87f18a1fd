/* sam_events: sample events (not built yet). */
#include "sam_events.h"

#include <stdio.h>

int sam_generate_event(int n, char **words)
{
    (void)n;
    (void)words;
    fprintf(stderr, "host local: generate-event is not built yet\n");
    return 2;
}
