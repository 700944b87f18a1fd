/* sam_env: the process environment a local function runs in: Lambda's variables, the
 * template's Environment (with --env-vars over it, as SAM applies them), --region and
 * --profile, and where the handler's imports come from (layers, the virtualenv, and no
 * build-machine dist-packages unless --system-packages). Built once per function, before
 * any fork, so a worker is started with execve alone. */
#ifndef HOST_SAM_ENV_H
#define HOST_SAM_ENV_H

#include "sam_template.h"

typedef struct {
    const char *env_vars;   /* --env-vars FILE (SAM's form), or NULL */
    const char *region;     /* --region, or NULL: AWS_REGION, else us-east-1 */
    const char *profile;    /* --profile, or NULL */
    const char *venv;       /* --venv DIR, or NULL: $VIRTUAL_ENV, else CODE/.venv */
    int system_packages;    /* --system-packages */
    const char *debugpy_port; /* --debug-port, or NULL */
} sam_env_options;

/* A NULL-terminated envp for f (caller frees with sam_env_free). NULL and err on a bad
 * --env-vars file or venv. */
char **sam_env_build(const sam_function *f, const sam_env_options *o, char *err, size_t errlen);
void sam_env_free(char **envp);

/* The path of this host binary, for the function's processes ("/proc/self/exe" read once:
 * exec of the link itself would start whatever runs host, e.g. valgrind's tool). */
const char *sam_env_self_exe(void);

/* The region in effect: --region, AWS_REGION, AWS_DEFAULT_REGION, us-east-1. */
const char *sam_env_region(const sam_env_options *o);

#endif
