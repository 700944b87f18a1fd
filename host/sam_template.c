/* sam_template: reads a SAM template's parameters and functions (intrinsics: sam_intrinsics.c). */
#include "sam_template.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "sam_intrinsics.h"
#include "sam_yaml.h"

#define DEFAULT_TIMEOUT_S 3.0            /* Lambda's defaults */
#define DEFAULT_MEMORY_MB 128
#define MAX_TIMEOUT_S 900.0

/* ---- parameters ---------------------------------------------------------------------- */

int sam_parse_parameter_override(json_t *obj, const char *word, char *err, size_t errlen)
{
    char key[256], value[4096];
    const char *k = strstr(word, "ParameterKey="), *v = strstr(word, "ParameterValue=");
    if (k && v) {
        const char *kend = strchr(k, ',');
        snprintf(key, sizeof key, "%.*s", (int)((kend && kend < v ? kend : v) - k - 13), k + 13);
        snprintf(value, sizeof value, "%s", v + 15);
    } else {
        const char *eq = strchr(word, '=');
        if (!eq || eq == word) {
            snprintf(err, errlen, "--parameter-overrides: '%s' is not KEY=VALUE "
                                  "(or ParameterKey=KEY,ParameterValue=VALUE)", word);
            return -1;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - word), word);
        snprintf(value, sizeof value, "%s", eq + 1);
    }
    json_object_set_new(obj, key, json_string(value));
    return 0;
}

static int resolve_parameters(sam_evaluator *e, json_t *overrides)
{
    const sam_node *ps = sam_yaml_get(e->root, "Parameters");
    e->params = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(overrides, key, v) {
        if (!sam_yaml_get(ps, key))
            return sam_eval_fail(e, ps, "--parameter-overrides names %s, which is not a parameter of the "
                               "template", key);
    }
    for (size_t i = 0; ps && ps->kind == SAM_MAP && i + 1 < ps->n; i += 2) {
        const char *name = ps->items[i]->value;
        json_t *given = json_object_get(overrides, name);
        const sam_node *def = sam_yaml_get(ps->items[i + 1], "Default");
        if (given)
            json_object_set(e->params, name, given);
        else if (def && def->kind == SAM_SCALAR && !def->tag)
            json_object_set_new(e->params, name, json_string(def->value));
        else if (def && def->kind == SAM_SEQ) {
            buf_t b = BUF_INIT; /* a List parameter's default: its items joined by commas */
            buf_append_str(&b, "");
            for (size_t j = 0; j < def->n; j++)
                buf_printf(&b, "%s%s", j ? "," : "", def->items[j]->kind == SAM_SCALAR ? def->items[j]->value : "");
            json_object_set_new(e->params, name, json_string(b.data));
            buf_free(&b);
        }
        /* No default and no override: a !Ref to it fails there, naming the line. */
    }
    return 0;
}

/* ---- code folders -------------------------------------------------------------------- */

static char *absolute(const sam_evaluator *e, const char *p)
{
    char joined[PATH_MAX];
    if (snprintf(joined, sizeof joined, "%s/%s", e->dir, p) >= (int)sizeof joined)
        return NULL;
    return realpath(p[0] == '/' ? p : joined, NULL);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A zip CodeUri or ContentUri is unpacked once per version of the zip, as SAM local does. */
static char *unpack_zip(sam_evaluator *e, const sam_node *at, const char *zip)
{
    struct stat st;
    if (stat(zip, &st) < 0) {
        sam_eval_fail(e, at, "%s does not exist: build it first (for this repository: make layer), "
                    "or give the function a source folder (see README, Local development)", zip);
        return NULL;
    }
    char dir[PATH_MAX], stamp[PATH_MAX + 16];
    const char *base = strrchr(zip, '/');
    if (snprintf(dir, sizeof dir, "%s/host-local-%u/%s-%lld-%lld",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (unsigned)getuid(), base ? base + 1 : zip,
                 (long long)st.st_ino, (long long)st.st_mtime) >= (int)sizeof dir ||
        snprintf(stamp, sizeof stamp, "%s/.unpacked", dir) >= (int)sizeof stamp) {
        sam_eval_fail(e, at, "the path of %s is too long", zip);
        return NULL;
    }
    if (access(stamp, F_OK) == 0)
        return strdup(dir);
    buf_t cmd = BUF_INIT;
    buf_printf(&cmd, "mkdir -p '%s' && unzip -q -o '%s' -d '%s' && touch '%s'", dir, zip, dir, stamp);
    int rc = system(cmd.data);
    buf_free(&cmd);
    if (rc != 0) {
        sam_eval_fail(e, at, "cannot unpack %s (is unzip installed?)", zip);
        return NULL;
    }
    return strdup(dir);
}

/* A folder or a zip, relative to the template. */
static char *code_location(sam_evaluator *e, const sam_node *n, const char *what)
{
    if (n && n->kind == SAM_MAP && !n->tag) {
        sam_eval_fail(e, n, "%s: an S3 location cannot be run locally; point it at a folder or a zip", what);
        return NULL;
    }
    char *p = n ? sam_eval_string(e, n, what) : strdup(".");
    if (!p)
        return NULL;
    char joined[PATH_MAX];
    if (snprintf(joined, sizeof joined, "%s/%s", e->dir, p) >= (int)sizeof joined)
        joined[0] = '\0';
    const char *full = p[0] == '/' ? p : joined;
    char *out = NULL;
    size_t len = strlen(p);
    if (len > 4 && strcmp(p + len - 4, ".zip") == 0)
        out = unpack_zip(e, n, full);
    else if (is_dir(full))
        out = absolute(e, p);
    else
        sam_eval_fail(e, n, "%s %s is not a folder or a .zip", what, p);
    free(p);
    return out;
}

/* ---- functions ----------------------------------------------------------------------- */

/* A property of the function, else of Globals.Function. */
static const sam_node *prop(const sam_evaluator *e, const sam_node *props, const char *key)
{
    const sam_node *v = sam_yaml_get(props, key);
    if (v)
        return v;
    return sam_yaml_get(sam_yaml_get(sam_yaml_get(e->root, "Globals"), "Function"), key);
}

static const sam_node *global_prop(const sam_evaluator *e, const char *key)
{
    return sam_yaml_get(sam_yaml_get(sam_yaml_get(e->root, "Globals"), "Function"), key);
}

static int read_number(sam_evaluator *e, const sam_node *n, double lo, double hi, double *out,
                       const char *what)
{
    char *s = sam_eval_string(e, n, what);
    if (!s)
        return -1;
    char *end;
    double v = strtod(s, &end);
    int bad = !*s || *end || !(v >= lo && v <= hi);
    free(s);
    if (bad)
        return sam_eval_fail(e, n, "%s must be a number from %g to %g", what, lo, hi);
    *out = v;
    return 0;
}

/* Globals' variables, then the function's: a function's value wins, as in SAM. */
static int read_environment(sam_evaluator *e, const sam_node *props, sam_function *f)
{
    f->env = json_object();
    const sam_node *sources[2] = {global_prop(e, "Environment"), sam_yaml_get(props, "Environment")};
    for (int i = 0; i < 2; i++) {
        const sam_node *vars = sam_yaml_get(sources[i], "Variables");
        if (!vars)
            continue;
        json_t *obj = NULL;
        if (sam_eval(e, vars, &obj) != SAM_EVAL_OK)
            return -1;
        if (!json_is_object(obj)) {
            json_decref(obj);
            return sam_eval_fail(e, vars, "Environment.Variables must be a map");
        }
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v) {
            if (!json_is_string(v)) {
                json_decref(obj);
                return sam_eval_fail(e, vars, "Environment variable %s must evaluate to a string", k);
            }
        }
        json_object_update(f->env, obj);
        json_decref(obj);
    }
    return 0;
}

/* Says once per layer why it is not used. */
static void note_skipped(sam_evaluator *e, const char *ref, const char *why)
{
    if (json_object_get(e->noted, ref))
        return;
    json_object_set_new(e->noted, ref, json_true());
    fprintf(stderr, "host local: layer %s skipped: %s\n", ref, why);
}

static int add_layer(sam_evaluator *e, const sam_node *at, sam_function *f, const char *ref)
{
    const sam_node *res = sam_eval_resource(e, ref);
    const sam_node *type = sam_yaml_get(res, "Type");
    if (!res || !type || type->kind != SAM_SCALAR ||
        (strcmp(type->value, "AWS::Serverless::LayerVersion") != 0 &&
         strcmp(type->value, "AWS::Lambda::LayerVersion") != 0)) {
        if (strncmp(ref, "arn:", 4) == 0) {
            note_skipped(e, ref, "only layers built from a local folder of this template are used");
            return 0;
        }
        return sam_eval_fail(e, at, "layer %s is not a LayerVersion of this template", ref);
    }
    const sam_node *props = sam_yaml_get(res, "Properties");
    const sam_node *uri = sam_yaml_get(props, "ContentUri");
    if (!uri)
        uri = sam_yaml_get(sam_yaml_get(props, "Content"), "S3Key");
    json_t *given = NULL;
    if (uri && sam_eval(e, uri, &given) == SAM_EVAL_OK && json_is_string(given)) {
        const char *p = json_string_value(given);
        char joined[PATH_MAX];
        if (snprintf(joined, sizeof joined, "%s/%s", e->dir, p) >= (int)sizeof joined)
            joined[0] = '\0';
        if (access(p[0] == '/' ? p : joined, F_OK) < 0) {
            /* A layer not built yet: the host layer (what runs the function here is this
             * binary), or a packages layer filled before deploying (the store's boto3). */
            note_skipped(e, ref, "its ContentUri is not built yet (make layer, or the "
                                 "template's own instructions)");
            json_decref(given);
            return 0;
        }
    }
    json_decref(given);
    char *dir = code_location(e, uri, "ContentUri");
    if (!dir)
        return -1;
    char **grown = realloc(f->layers, (f->n_layers + 1) * sizeof *grown);
    if (!grown) {
        free(dir);
        return sam_eval_fail(e, at, "out of memory");
    }
    f->layers = grown;
    f->layers[f->n_layers++] = dir;
    return 0;
}

static int read_layers(sam_evaluator *e, const sam_node *props, sam_function *f)
{
    const sam_node *sources[2] = {global_prop(e, "Layers"), sam_yaml_get(props, "Layers")};
    for (int i = 0; i < 2; i++) {
        if (!sources[i])
            continue;
        json_t *list = NULL;
        if (sam_eval_list(e, sources[i], &list) != SAM_EVAL_OK)
            return -1;
        size_t j;
        json_t *v;
        int rc = 0;
        json_array_foreach(list, j, v) {
            if (!json_is_string(v))
                rc = sam_eval_fail(e, sources[i], "Layers: item %zu is not a layer reference", j + 1);
            else
                rc = add_layer(e, sources[i], f, json_string_value(v));
            if (rc < 0)
                break;
        }
        json_decref(list);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int add_route(sam_evaluator *e, sam_function *f, const sam_node *ev, sam_route_kind kind)
{
    const sam_node *props = sam_yaml_get(ev, "Properties");
    sam_route r = {.kind = kind, .payload_v2 = kind == SAM_ROUTE_HTTP_API};
    const sam_node *m = sam_yaml_get(props, "Method"), *p = sam_yaml_get(props, "Path");
    const sam_node *v = sam_yaml_get(props, "PayloadFormatVersion");
    if (kind == SAM_ROUTE_REST_API && (!m || !p))
        return sam_eval_fail(e, ev, "an Api event needs Path and Method");
    r.method = m ? sam_eval_string(e, m, "Method") : strdup("ANY");
    r.path = p ? sam_eval_string(e, p, "Path") : NULL;
    if (!r.method || (p && !r.path)) {
        free(r.method);
        free(r.path);
        return -1;
    }
    for (char *c = r.method; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    if (v && v->kind == SAM_SCALAR && strcmp(v->value, "1.0") == 0)
        r.payload_v2 = 0;
    sam_route *grown = realloc(f->routes, (f->n_routes + 1) * sizeof *grown);
    if (!grown) {
        free(r.method);
        free(r.path);
        return sam_eval_fail(e, ev, "out of memory");
    }
    f->routes = grown;
    f->routes[f->n_routes++] = r;
    return 0;
}

/* FunctionUrlConfig: every method and path under /<id>/ (InvokeMode RESPONSE_STREAM or not:
 * a worker that streams is streamed to the client either way). */
static int read_function_url(sam_evaluator *e, const sam_node *props, sam_function *f)
{
    const sam_node *cfg = sam_yaml_get(props, "FunctionUrlConfig");
    if (!cfg)
        return 0;
    sam_route r = {.kind = SAM_ROUTE_FUNCTION_URL, .payload_v2 = 1, .method = strdup("ANY")};
    sam_route *grown = realloc(f->routes, (f->n_routes + 1) * sizeof *grown);
    if (!r.method || asprintf(&r.path, "/%s/{proxy+}", f->id) < 0 || !grown) {
        free(r.method);
        if (grown)
            f->routes = grown;
        return sam_eval_fail(e, cfg, "out of memory");
    }
    f->routes = grown;
    f->routes[f->n_routes++] = r;
    return 0;
}

static int read_events(sam_evaluator *e, const sam_node *props, sam_function *f)
{
    const sam_node *evs = sam_yaml_get(props, "Events");
    for (size_t i = 0; evs && evs->kind == SAM_MAP && i + 1 < evs->n; i += 2) {
        const sam_node *type = sam_yaml_get(evs->items[i + 1], "Type");
        if (!type || type->kind != SAM_SCALAR)
            continue;
        int rc = 0;
        if (strcmp(type->value, "HttpApi") == 0)
            rc = add_route(e, f, evs->items[i + 1], SAM_ROUTE_HTTP_API);
        else if (strcmp(type->value, "Api") == 0)
            rc = add_route(e, f, evs->items[i + 1], SAM_ROUTE_REST_API);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The source folder a function runs from locally: Metadata.HostLocal.CodeUri when the
 * template's CodeUri is a built artefact (a zip), else CodeUri. */
static const sam_node *local_code_uri(const sam_evaluator *e, const sam_node *res, const sam_node *props)
{
    const sam_node *m = sam_yaml_get(sam_yaml_get(sam_yaml_get(res, "Metadata"), "HostLocal"), "CodeUri");
    return m ? m : prop(e, props, "CodeUri");
}

static int read_function(sam_evaluator *e, const char *id, const sam_node *res, sam_function *f)
{
    const sam_node *props = sam_yaml_get(res, "Properties");
    f->id = strdup(id);
    f->timeout = DEFAULT_TIMEOUT_S;
    f->memory_mb = DEFAULT_MEMORY_MB;
    if (sam_yaml_get(props, "InlineCode"))
        return sam_eval_fail(e, sam_yaml_get(props, "InlineCode"), "InlineCode is not supported by host local; "
                                                          "put the code in a folder and name it in CodeUri");
    const sam_node *pt = sam_yaml_get(props, "PackageType");
    if (pt && pt->kind == SAM_SCALAR && strcmp(pt->value, "Image") == 0)
        return sam_eval_fail(e, pt, "%s: PackageType Image needs Docker; host local runs Zip functions", id);
    const sam_node *h = prop(e, props, "Handler"), *rt = prop(e, props, "Runtime");
    if (!h)
        return sam_eval_fail(e, res, "function %s has no Handler", id);
    if (!(f->handler = sam_eval_string(e, h, "Handler")))
        return -1;
    if (rt && !(f->runtime = sam_eval_string(e, rt, "Runtime")))
        return -1;
    if (f->runtime && strncmp(f->runtime, "python3", 7) != 0 && strncmp(f->runtime, "provided", 8) != 0)
        return sam_eval_fail(e, rt, "function %s: Runtime %s is not Python; host runs Python handlers "
                           "(python3.x, or provided.* with the host layer)", id, f->runtime);
    if (!(f->code_dir = code_location(e, local_code_uri(e, res, props), "CodeUri")))
        return -1;
    const sam_node *t = prop(e, props, "Timeout"), *m = prop(e, props, "MemorySize");
    double mem = DEFAULT_MEMORY_MB;
    if (t && read_number(e, t, 1, MAX_TIMEOUT_S, &f->timeout, "Timeout") < 0)
        return -1;
    if (m && read_number(e, m, 128, 10240, &mem, "MemorySize") < 0)
        return -1;
    f->memory_mb = (int)mem;
    if (read_environment(e, props, f) < 0 || read_layers(e, props, f) < 0)
        return -1;
    return read_events(e, props, f) < 0 ? -1 : read_function_url(e, props, f);
}

static void free_function(sam_function *f)
{
    free(f->id);
    free(f->handler);
    free(f->code_dir);
    free(f->runtime);
    json_decref(f->env);
    for (size_t i = 0; i < f->n_layers; i++)
        free(f->layers[i]);
    free(f->layers);
    for (size_t i = 0; i < f->n_routes; i++) {
        free(f->routes[i].method);
        free(f->routes[i].path);
    }
    free(f->routes);
}

static void add_binary_types(sam_evaluator *e, sam_template *t, const sam_node *list)
{
    json_t *v = NULL;
    if (!list || sam_eval(e, list, &v) != SAM_EVAL_OK || !json_is_array(v)) {
        json_decref(v);
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        const char *s = json_string_value(item);
        char **grown = s ? realloc(t->binary_types, (t->n_binary_types + 1) * sizeof *grown) : NULL;
        if (!grown)
            continue;
        t->binary_types = grown;
        char *copy = strdup(s), *w = copy;
        for (const char *r = s; copy && *r; r++) { /* ~1 is how a template writes '/' */
            if (r[0] == '~' && r[1] == '1') {
                *w++ = '/';
                r++;
            } else {
                *w++ = *r;
            }
        }
        if (copy) {
            *w = '\0';
            t->binary_types[t->n_binary_types++] = copy;
        }
    }
    json_decref(v);
}

static int read_resources(sam_evaluator *e, sam_template *t)
{
    const sam_node *rs = sam_yaml_get(e->root, "Resources");
    if (!rs || rs->kind != SAM_MAP)
        return sam_eval_fail(e, e->root, "the template has no Resources map");
    add_binary_types(e, t, sam_yaml_get(sam_yaml_get(sam_yaml_get(e->root, "Globals"), "Api"), "BinaryMediaTypes"));
    for (size_t i = 0; i + 1 < rs->n; i += 2) {
        const sam_node *res = rs->items[i + 1], *type = sam_yaml_get(res, "Type");
        if (!type || type->kind != SAM_SCALAR)
            continue;
        if (strcmp(type->value, "AWS::Serverless::Api") == 0)
            add_binary_types(e, t, sam_yaml_get(sam_yaml_get(res, "Properties"), "BinaryMediaTypes"));
        if (strcmp(type->value, "AWS::Serverless::Function") != 0)
            continue;
        sam_function *grown = realloc(t->fns, (t->n + 1) * sizeof *grown);
        if (!grown)
            return sam_eval_fail(e, res, "out of memory");
        t->fns = grown;
        memset(&t->fns[t->n], 0, sizeof t->fns[t->n]);
        t->n++;
        if (read_function(e, rs->items[i]->value, res, &t->fns[t->n - 1]) < 0)
            return -1;
    }
    if (t->n == 0)
        return sam_eval_fail(e, rs, "the template has no AWS::Serverless::Function");
    return 0;
}

int sam_template_load(sam_template *t, const char *path, const sam_template_options *o,
                      char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    sam_node *root = sam_yaml_load(path, err, errlen);
    if (!root)
        return -1;
    char *abs = realpath(path, NULL);
    char *slash = abs ? strrchr(abs, '/') : NULL;
    if (slash)
        *slash = '\0';
    sam_evaluator e = {.root = root, .path = path, .dir = abs ? abs : ".", .region = o->region,
                   .err = err, .errlen = errlen};
    int rc = -1;
    json_t *none = json_object();
    e.noted = json_object();
    if (root->kind != SAM_MAP)
        sam_eval_fail(&e, root, "a template is a map (AWSTemplateFormatVersion, Resources, ...)");
    else if (resolve_parameters(&e, o->parameters ? o->parameters : none) == 0 &&
             read_resources(&e, t) == 0)
        rc = 0;
    json_decref(none);
    json_decref(e.noted);
    json_decref(e.params);
    free(abs);
    sam_yaml_free(root);
    t->path = strdup(path);
    if (rc < 0)
        sam_template_free(t);
    return rc;
}

void sam_template_free(sam_template *t)
{
    for (size_t i = 0; i < t->n; i++)
        free_function(&t->fns[i]);
    free(t->fns);
    for (size_t i = 0; i < t->n_binary_types; i++)
        free(t->binary_types[i]);
    free(t->binary_types);
    free(t->path);
    memset(t, 0, sizeof *t);
}

sam_function *sam_template_find(const sam_template *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->fns[i].id, id) == 0)
            return &t->fns[i];
    return NULL;
}
