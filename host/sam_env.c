/* sam_env: builds the environment of a local function's process (see sam_env.h). */
#include "sam_env.h"

#include <Python.h> /* only for PY_MAJOR_VERSION / PY_MINOR_VERSION: the layer's lib/pythonX.Y */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define PY_XY STR(PY_MAJOR_VERSION) "." STR(PY_MINOR_VERSION)
#define DEFAULT_REGION "us-east-1"

extern char **environ;

/* Variables of the calling shell a function must not see: they belong to another runtime
 * process or would change how host itself starts. */
static const char *const dropped[] = {"AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT",
                                      "AWS_LAMBDA_MAX_CONCURRENCY", "_X_AMZN_TRACE_ID", "PYTHONPATH",
                                      "PYTHONHOME", "VIRTUAL_ENV", "HOST_WORKER_ID", NULL};

const char *sam_env_self_exe(void)
{
    static char path[4096];
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        snprintf(path + (n > 0 ? n : 0), sizeof path - (size_t)(n > 0 ? n : 0), "%s", n > 0 ? "" : "/proc/self/exe");
    }
    return path;
}

const char *sam_env_region(const sam_env_options *o)
{
    if (o->region)
        return o->region;
    if (getenv("AWS_REGION"))
        return getenv("AWS_REGION");
    return getenv("AWS_DEFAULT_REGION") ? getenv("AWS_DEFAULT_REGION") : DEFAULT_REGION;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* SAM's --env-vars: {"Parameters": {...}, "<function id>": {...}}; only variables the
 * template declares are overridden (SAM ignores the rest). A flat string value counts
 * as a Parameters entry, as `host --local --env-vars` reads it. */
static int apply_env_file(json_t *env, const char *file, const char *id, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_load_file(file, 0, &jerr);
    if (!doc || !json_is_object(doc)) {
        snprintf(err, errlen, "--env-vars %s: %s", file,
                 doc ? "the file must hold a JSON object like {\"Parameters\": {\"K\": \"v\"}}" : jerr.text);
        json_decref(doc);
        return -1;
    }
    const char *sections[2] = {"Parameters", id};
    for (int i = 0; i < 2; i++) {
        json_t *sec = json_object_get(doc, sections[i]);
        const char *k;
        json_t *v;
        json_object_foreach(sec, k, v) {
            if (!json_object_get(env, k))
                continue;
            if (json_is_string(v))
                json_object_set(env, k, v);
            else if (json_is_number(v) || json_is_boolean(v)) {
                char *text = json_dumps(v, JSON_ENCODE_ANY);
                json_object_set_new(env, k, json_string(text ? text : ""));
                free(text);
            }
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        if (json_is_string(v) && json_object_get(env, k))
            json_object_set(env, k, v);
    }
    json_decref(doc);
    return 0;
}

/* DIR/lib/pythonX.Y/site-packages of a virtualenv, checked against host's Python. */
static int venv_site(const char *venv, buf_t *out, char *err, size_t errlen)
{
    char sp[4096], lib[4096];
    if (snprintf(sp, sizeof sp, "%s/lib/python" PY_XY "/site-packages", venv) >= (int)sizeof sp ||
        snprintf(lib, sizeof lib, "%s/lib", venv) >= (int)sizeof lib) {
        snprintf(err, errlen, "the virtualenv's path is too long");
        return -1;
    }
    if (is_dir(sp))
        return buf_printf(out, ":%s", sp);
    DIR *d = opendir(lib);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strncmp(de->d_name, "python", 6) == 0) {
            snprintf(err, errlen, "the virtualenv %s is for %s, but host runs Python " PY_XY
                     "; make it with python" PY_XY " -m venv", venv, de->d_name);
            closedir(d);
            return -1;
        }
    if (d)
        closedir(d);
    snprintf(err, errlen, "%s is not a virtualenv (no lib/python" PY_XY "/site-packages)", venv);
    return -1;
}

/* _HOST_EXTRA_PATH: what bootstrap.setup() puts on sys.path after the task root, as
 * Lambda's /opt would give them: each layer's python/ folders, then the virtualenv. */
static int python_path(const sam_function *f, const sam_env_options *o, buf_t *out, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < f->n_layers; i++)
        buf_printf(out, ":%s/python/lib/python" PY_XY "/site-packages:%s/python", f->layers[i], f->layers[i]);
    char dot[4096];
    if (snprintf(dot, sizeof dot, "%s/.venv", f->code_dir) >= (int)sizeof dot)
        dot[0] = '\0';
    const char *venv = o->venv ? o->venv : getenv("VIRTUAL_ENV");
    if (!venv && is_dir(dot))
        venv = dot;
    if (venv && venv_site(venv, out, err, errlen) < 0)
        return -1;
    return 0;
}

static int add(json_t *vars, const char *k, const char *v)
{
    return v ? json_object_set_new(vars, k, json_string(v)) : 0;
}

static void lambda_vars(json_t *vars, const sam_function *f, const sam_env_options *o)
{
    char mem[32], group[512], timeout[32];
    snprintf(mem, sizeof mem, "%d", f->memory_mb);
    snprintf(group, sizeof group, "/aws/lambda/%s", f->id);
    snprintf(timeout, sizeof timeout, "%g", f->timeout);
    add(vars, "AWS_LAMBDA_FUNCTION_NAME", f->id);
    add(vars, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", mem);
    add(vars, "AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    add(vars, "AWS_LAMBDA_LOG_GROUP_NAME", group);
    add(vars, "AWS_LAMBDA_LOG_STREAM_NAME", "$LATEST/host-local");
    add(vars, "AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    add(vars, "AWS_REGION", sam_env_region(o));
    add(vars, "AWS_DEFAULT_REGION", sam_env_region(o));
    add(vars, "LAMBDA_TASK_ROOT", f->code_dir);
    add(vars, "LAMBDA_RUNTIME_DIR", "/var/runtime");
    add(vars, "_HANDLER", f->handler);
    add(vars, "AWS_SAM_LOCAL", "true");
    add(vars, "HOST_LOCAL", "1");
    add(vars, "HOST_LOCAL_TIMEOUT", timeout);
    add(vars, "AWS_PROFILE", o->profile);
    add(vars, "_HOST_DEBUGPY_PORT", o->debugpy_port);
    if (!o->system_packages)
        add(vars, "_HOST_NO_SYSTEM_SITE", "1");
}

static char **to_envp(json_t *vars)
{
    size_t n = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **envp = calloc(n + json_object_size(vars) + 1, sizeof *envp);
    if (!envp)
        return NULL;
    size_t k = 0;
    for (char **e = environ; *e; e++) {
        size_t len = strcspn(*e, "=");
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)len, *e);
        int drop = json_object_get(vars, name) != NULL;
        for (int i = 0; dropped[i]; i++)
            drop |= strcmp(name, dropped[i]) == 0;
        if (!drop)
            envp[k++] = strdup(*e);
    }
    const char *key;
    json_t *v;
    json_object_foreach(vars, key, v) {
        buf_t b = BUF_INIT;
        buf_printf(&b, "%s=%s", key, json_string_value(v));
        envp[k++] = b.data;
    }
    return envp;
}

char **sam_env_build(const sam_function *f, const sam_env_options *o, char *err, size_t errlen)
{
    json_t *vars = json_deep_copy(f->env);
    char **envp = NULL;
    buf_t path = BUF_INIT;
    buf_append_str(&path, "");
    if (o->env_vars && apply_env_file(vars, o->env_vars, f->id, err, errlen) < 0)
        goto err;
    if (python_path(f, o, &path, err, errlen) < 0)
        goto err;
    lambda_vars(vars, f, o);
    if (path.len > 0)
        add(vars, "_HOST_EXTRA_PATH", path.data + 1);
    envp = to_envp(vars);
err:
    buf_free(&path);
    json_decref(vars);
    return envp;
}

void sam_env_free(char **envp)
{
    for (char **e = envp; e && *e; e++)
        free(*e);
    free(envp);
}
