/* sam_server: the local servers (not built yet). */
#include "sam_server.h"

#include <stdio.h>

int sam_serve(const sam_options *o)
{
    fprintf(stderr, "host local: %s is not built yet\n", o->command);
    return 2;
}
