/* sam_template: reads a SAM template's functions and evaluates CloudFormation intrinsics. */
#include "sam_template.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "sam_yaml.h"

#define LOCAL_ACCOUNT_ID "123456789012" /* what SAM local uses for AWS::AccountId */
#define LOCAL_STACK_NAME "local"
#define DEFAULT_TIMEOUT_S 3.0            /* Lambda's defaults */
#define DEFAULT_MEMORY_MB 128
#define MAX_TIMEOUT_S 900.0
#define MAX_EVAL_DEPTH 64                /* conditions that name each other stop here */

/* An evaluation: results are new json_t references; NO_VALUE is AWS::NoValue. */
typedef struct {
    const sam_node *root;
    const char *path;
    const char *dir;       /* the template's folder */
    json_t *params;        /* resolved parameter values, owned */
    const char *region;
    char *err;
    size_t errlen;
    int depth;
    json_t *noted;         /* layers already reported as skipped */
} evaluator;

#define EVAL_OK 0
#define EVAL_NO_VALUE 1
#define EVAL_ERR (-1)

static int fail(evaluator *e, const sam_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(evaluator *e, const sam_node *at, const char *fmt, ...)
{
    int n = snprintf(e->err, e->errlen, "%s:%d: ", e->path, at ? at->line : 1);
    if (n < 0 || (size_t)n >= e->errlen)
        return EVAL_ERR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err + n, e->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return EVAL_ERR;
}

static int eval(evaluator *e, const sam_node *n, json_t **out);

/* ---- Ref, GetAtt, Sub ---------------------------------------------------------------- */

static const sam_node *resource(const evaluator *e, const char *id)
{
    return sam_yaml_get(sam_yaml_get(e->root, "Resources"), id);
}

/* The text a name in Ref or ${...} stands for; NULL (and err) when unknown. */
static const char *ref_text(evaluator *e, const sam_node *at, const char *name, char *scratch,
                            size_t len)
{
    json_t *p = json_object_get(e->params, name);
    if (p)
        return json_string_value(p);
    if (strcmp(name, "AWS::Region") == 0)
        return e->region;
    if (strcmp(name, "AWS::AccountId") == 0)
        return LOCAL_ACCOUNT_ID;
    if (strcmp(name, "AWS::StackName") == 0)
        return LOCAL_STACK_NAME;
    if (strcmp(name, "AWS::Partition") == 0)
        return "aws";
    if (strcmp(name, "AWS::URLSuffix") == 0)
        return "amazonaws.com";
    if (strcmp(name, "AWS::StackId") == 0) {
        snprintf(scratch, len, "arn:aws:cloudformation:%s:%s:stack/%s/local", e->region,
                 LOCAL_ACCOUNT_ID, LOCAL_STACK_NAME);
        return scratch;
    }
    /* A resource has no physical name locally: its logical id stands in, as in SAM local. */
    if (resource(e, name))
        return name;
    fail(e, at, "!Ref %s: no parameter, pseudo parameter or resource has that name", name);
    return NULL;
}

static int getatt_text(evaluator *e, const sam_node *at, const char *res, const char *attr,
                       buf_t *out)
{
    if (!resource(e, res))
        return fail(e, at, "!GetAtt %s.%s: the template has no resource %s", res, attr, res);
    int rc = strcmp(attr, "Arn") == 0
                 ? buf_printf(out, "arn:aws:local:%s:%s:%s", e->region, LOCAL_ACCOUNT_ID, res)
                 : buf_printf(out, "%s.%s", res, attr);
    return rc < 0 ? fail(e, at, "out of memory") : EVAL_OK;
}

static int eval_ref(evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SCALAR)
        return fail(e, arg, "!Ref wants the name of a parameter or resource");
    if (strcmp(arg->value, "AWS::NoValue") == 0)
        return EVAL_NO_VALUE;
    char scratch[256];
    const char *v = ref_text(e, arg, arg->value, scratch, sizeof scratch);
    if (!v)
        return EVAL_ERR;
    *out = json_string(v);
    return EVAL_OK;
}

static int eval_getatt(evaluator *e, const sam_node *arg, json_t **out)
{
    char res[256] = "", attr[256] = "";
    if (arg->kind == SAM_SCALAR) {
        const char *dot = strchr(arg->value, '.');
        if (!dot)
            return fail(e, arg, "!GetAtt wants Resource.Attribute, not '%s'", arg->value);
        snprintf(res, sizeof res, "%.*s", (int)(dot - arg->value), arg->value);
        snprintf(attr, sizeof attr, "%s", dot + 1);
    } else if (arg->kind == SAM_SEQ && arg->n == 2 && arg->items[0]->kind == SAM_SCALAR &&
               arg->items[1]->kind == SAM_SCALAR) {
        snprintf(res, sizeof res, "%s", arg->items[0]->value);
        snprintf(attr, sizeof attr, "%s", arg->items[1]->value);
    } else {
        return fail(e, arg, "!GetAtt wants Resource.Attribute or [Resource, Attribute]");
    }
    buf_t b = BUF_INIT;
    int rc = getatt_text(e, arg, res, attr, &b);
    if (rc == EVAL_OK)
        *out = json_string(b.data);
    buf_free(&b);
    return rc;
}

/* One ${name} of a !Sub: a variable of its map, a parameter, Res.Attr or a pseudo parameter. */
static int sub_name(evaluator *e, const sam_node *at, const char *name, json_t *vars, buf_t *out)
{
    json_t *v = json_object_get(vars, name);
    if (v) {
        if (!json_is_string(v))
            return fail(e, at, "!Sub variable %s is not a string", name);
        return buf_append_str(out, json_string_value(v)) < 0 ? fail(e, at, "out of memory") : EVAL_OK;
    }
    const char *dot = strchr(name, '.');
    if (dot && !json_object_get(e->params, name)) {
        char res[256];
        snprintf(res, sizeof res, "%.*s", (int)(dot - name), name);
        return getatt_text(e, at, res, dot + 1, out);
    }
    char scratch[256];
    const char *t = ref_text(e, at, name, scratch, sizeof scratch);
    if (!t)
        return EVAL_ERR;
    return buf_append_str(out, t) < 0 ? fail(e, at, "out of memory") : EVAL_OK;
}

static int sub_string(evaluator *e, const sam_node *at, const char *s, json_t *vars, json_t **out)
{
    buf_t b = BUF_INIT;
    int rc = buf_append_str(&b, "");
    for (const char *p = s; rc == EVAL_OK && *p;) {
        const char *open = strstr(p, "${");
        if (!open) {
            rc = buf_append_str(&b, p);
            break;
        }
        rc = buf_append(&b, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        if (rc < 0 || !close) {
            rc = rc < 0 ? fail(e, at, "out of memory") : fail(e, at, "!Sub: '${' without '}' in '%s'", s);
            break;
        }
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(close - open - 2), open + 2);
        if (name[0] == '!') /* ${!Literal} is the text ${Literal} */
            rc = buf_printf(&b, "${%s}", name + 1) < 0 ? fail(e, at, "out of memory") : EVAL_OK;
        else
            rc = sub_name(e, at, name, vars, &b);
        p = close + 1;
    }
    if (rc == EVAL_OK)
        *out = json_string(b.data);
    buf_free(&b);
    return rc < 0 ? EVAL_ERR : EVAL_OK;
}

static int eval_sub(evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind == SAM_SCALAR)
        return sub_string(e, arg, arg->value, NULL, out);
    if (arg->kind != SAM_SEQ || arg->n != 2 || arg->items[0]->kind != SAM_SCALAR)
        return fail(e, arg, "!Sub wants a string or [string, {variables}]");
    json_t *vars = NULL;
    int rc = eval(e, arg->items[1], &vars);
    if (rc == EVAL_OK && !json_is_object(vars))
        rc = fail(e, arg->items[1], "!Sub's second item must be a map of variables");
    if (rc == EVAL_OK)
        rc = sub_string(e, arg, arg->items[0]->value, vars, out);
    json_decref(vars);
    return rc < 0 ? EVAL_ERR : EVAL_OK;
}

/* ---- conditions, If, Join, Select, Split, FindInMap ----------------------------------- */

static int eval_condition_expr(evaluator *e, const sam_node *n, int *truth);

static int eval_named_condition(evaluator *e, const sam_node *at, const char *name, int *truth)
{
    const sam_node *c = sam_yaml_get(sam_yaml_get(e->root, "Conditions"), name);
    if (!c)
        return fail(e, at, "the template has no condition named %s", name);
    if (++e->depth > MAX_EVAL_DEPTH)
        return fail(e, at, "condition %s refers to itself", name);
    int rc = eval_condition_expr(e, c, truth);
    e->depth--;
    return rc;
}

/* The function a node calls: its tag, or the single key of a {Fn::X: ...} map. */
static const char *call_name(const sam_node *n, const sam_node **arg)
{
    static const struct { const char *tag, *name; } tags[] = {
        {"!Ref", "Ref"}, {"!Condition", "Condition"}, {"!Sub", "Fn::Sub"}, {"!GetAtt", "Fn::GetAtt"},
        {"!If", "Fn::If"}, {"!Join", "Fn::Join"}, {"!Select", "Fn::Select"}, {"!Split", "Fn::Split"},
        {"!FindInMap", "Fn::FindInMap"}, {"!Equals", "Fn::Equals"}, {"!Not", "Fn::Not"},
        {"!And", "Fn::And"}, {"!Or", "Fn::Or"}, {"!Base64", "Fn::Base64"},
        {"!GetAZs", "Fn::GetAZs"}, {"!ImportValue", "Fn::ImportValue"}, {"!Cidr", "Fn::Cidr"},
        {"!Transform", "Fn::Transform"}, {"!ToJsonString", "Fn::ToJsonString"},
        {"!Length", "Fn::Length"},
    };
    if (n->tag) {
        *arg = n;
        for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
            if (strcmp(n->tag, tags[i].tag) == 0)
                return tags[i].name;
        return n->tag;
    }
    if (n->kind == SAM_MAP && n->n == 2 && n->items[0]->kind == SAM_SCALAR) {
        const char *k = n->items[0]->value;
        if (strcmp(k, "Ref") == 0 || strcmp(k, "Condition") == 0 || strncmp(k, "Fn::", 4) == 0) {
            *arg = n->items[1];
            return k;
        }
    }
    return NULL;
}

static int eval_untagged(evaluator *e, const sam_node *n, json_t **out);

static int eval_condition_expr(evaluator *e, const sam_node *n, int *truth)
{
    const sam_node *arg = NULL;
    const char *fn = call_name(n, &arg);
    if (!fn)
        return fail(e, n, "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition");
    if (strcmp(fn, "Condition") == 0) {
        if (arg->kind != SAM_SCALAR)
            return fail(e, arg, "Condition wants a condition's name");
        return eval_named_condition(e, arg, arg->value, truth);
    }
    if (arg->kind != SAM_SEQ)
        return fail(e, arg, "%s wants a list", fn);
    if (strcmp(fn, "Fn::Equals") == 0) {
        if (arg->n != 2)
            return fail(e, arg, "Fn::Equals wants two values");
        json_t *a = NULL, *b = NULL;
        int rc = eval(e, arg->items[0], &a);
        if (rc == EVAL_OK)
            rc = eval(e, arg->items[1], &b);
        if (rc == EVAL_OK)
            *truth = json_equal(a, b);
        json_decref(a);
        json_decref(b);
        return rc == EVAL_NO_VALUE ? fail(e, arg, "Fn::Equals of AWS::NoValue") : rc;
    }
    int is_and = strcmp(fn, "Fn::And") == 0, is_or = strcmp(fn, "Fn::Or") == 0;
    int is_not = strcmp(fn, "Fn::Not") == 0;
    if (!is_and && !is_or && !is_not)
        return fail(e, n, "%s is not a condition function host can evaluate", fn);
    if (is_not && arg->n != 1)
        return fail(e, arg, "Fn::Not wants one condition");
    int acc = is_and;
    for (size_t i = 0; i < arg->n; i++) {
        int t = 0;
        if (eval_condition_expr(e, arg->items[i], &t) < 0)
            return EVAL_ERR;
        acc = is_and ? (acc && t) : is_or ? (acc || t) : !t;
    }
    *truth = acc;
    return EVAL_OK;
}

static int eval_if(evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 3 || arg->items[0]->kind != SAM_SCALAR)
        return fail(e, arg, "!If wants [ConditionName, value if true, value if false]");
    int truth = 0;
    if (eval_named_condition(e, arg->items[0], arg->items[0]->value, &truth) < 0)
        return EVAL_ERR;
    return eval(e, arg->items[truth ? 1 : 2], out);
}

/* Evaluates a list argument into a JSON array of its items. */
static int eval_list(evaluator *e, const sam_node *arg, json_t **out)
{
    int rc = eval(e, arg, out);
    if (rc == EVAL_OK && !json_is_array(*out)) {
        json_decref(*out);
        return fail(e, arg, "a list is wanted here");
    }
    return rc;
}

static int eval_join(evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 2 || arg->items[0]->kind != SAM_SCALAR)
        return fail(e, arg, "!Join wants [delimiter, [values]]");
    json_t *list = NULL;
    if (eval_list(e, arg->items[1], &list) != EVAL_OK)
        return EVAL_ERR;
    buf_t b = BUF_INIT;
    int rc = buf_append_str(&b, "");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v)) {
            rc = fail(e, arg->items[1], "!Join: item %zu is not a string", i + 1);
            break;
        }
        if ((i > 0 && buf_append_str(&b, arg->items[0]->value) < 0) ||
            buf_append_str(&b, json_string_value(v)) < 0) {
            rc = fail(e, arg, "out of memory");
            break;
        }
    }
    if (rc == EVAL_OK)
        *out = json_string(b.data);
    buf_free(&b);
    json_decref(list);
    return rc < 0 ? EVAL_ERR : EVAL_OK;
}

static int eval_select(evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 2)
        return fail(e, arg, "!Select wants [index, [values]]");
    json_t *idx = NULL, *list = NULL;
    int rc = eval(e, arg->items[0], &idx);
    if (rc == EVAL_OK)
        rc = eval_list(e, arg->items[1], &list);
    if (rc == EVAL_OK) {
        char *end = NULL;
        const char *s = json_string_value(idx);
        long i = s ? strtol(s, &end, 10) : -1;
        if (!s || *end || i < 0 || (size_t)i >= json_array_size(list))
            rc = fail(e, arg, "!Select: index out of range");
        else
            *out = json_incref(json_array_get(list, (size_t)i));
    }
    json_decref(idx);
    json_decref(list);
    return rc;
}

static int eval_split(evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 2 || arg->items[0]->kind != SAM_SCALAR ||
        !arg->items[0]->value[0])
        return fail(e, arg, "!Split wants [delimiter, string]");
    json_t *s = NULL;
    int rc = eval(e, arg->items[1], &s);
    if (rc == EVAL_OK && !json_is_string(s))
        rc = fail(e, arg->items[1], "!Split: the second item must be a string");
    if (rc == EVAL_OK) {
        const char *d = arg->items[0]->value, *p = json_string_value(s), *q;
        json_t *list = json_array();
        while ((q = strstr(p, d))) {
            json_array_append_new(list, json_stringn(p, (size_t)(q - p)));
            p = q + strlen(d);
        }
        json_array_append_new(list, json_string(p));
        *out = list;
    }
    json_decref(s);
    return rc;
}

static int eval_findinmap(evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 3)
        return fail(e, arg, "!FindInMap wants [MapName, TopLevelKey, SecondLevelKey]");
    json_t *k[3] = {NULL, NULL, NULL};
    int rc = EVAL_OK;
    for (int i = 0; i < 3 && rc == EVAL_OK; i++) {
        rc = eval(e, arg->items[i], &k[i]);
        if (rc == EVAL_OK && !json_is_string(k[i]))
            rc = fail(e, arg->items[i], "!FindInMap: keys must be strings");
    }
    if (rc == EVAL_OK) {
        const sam_node *v = sam_yaml_get(
            sam_yaml_get(sam_yaml_get(sam_yaml_get(e->root, "Mappings"), json_string_value(k[0])),
                         json_string_value(k[1])),
            json_string_value(k[2]));
        rc = v ? eval(e, v, out)
               : fail(e, arg, "!FindInMap: Mappings has no %s / %s / %s", json_string_value(k[0]),
                      json_string_value(k[1]), json_string_value(k[2]));
    }
    for (int i = 0; i < 3; i++)
        json_decref(k[i]);
    return rc;
}

static int eval_call(evaluator *e, const sam_node *at, const char *fn, const sam_node *arg,
                     json_t **out)
{
    static const struct {
        const char *name;
        int (*eval)(evaluator *, const sam_node *, json_t **);
    } fns[] = {
        {"Ref", eval_ref}, {"Fn::Sub", eval_sub}, {"Fn::GetAtt", eval_getatt}, {"Fn::If", eval_if},
        {"Fn::Join", eval_join}, {"Fn::Select", eval_select}, {"Fn::Split", eval_split},
        {"Fn::FindInMap", eval_findinmap},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strcmp(fn, fns[i].name) == 0)
            return fns[i].eval(e, arg, out);
    if (strncmp(fn, "Fn::", 4) == 0 || fn[0] == '!')
        return fail(e, at, "%s is not supported by host local (supported: Ref, Fn::Sub, Fn::GetAtt, "
                           "Fn::If, Fn::Join, Fn::Select, Fn::Split, Fn::FindInMap and conditions); "
                           "write the value out or pass it with --parameter-overrides", fn);
    return fail(e, at, "%s cannot be used as a value here", fn);
}

static int eval_untagged(evaluator *e, const sam_node *n, json_t **out)
{
    if (n->kind == SAM_SCALAR) {
        *out = sam_yaml_is_null(n) ? json_null() : json_string(n->value);
        return EVAL_OK;
    }
    json_t *c = n->kind == SAM_SEQ ? json_array() : json_object();
    for (size_t i = 0; i < n->n; i += (n->kind == SAM_SEQ ? 1 : 2)) {
        const sam_node *item = n->items[i + (n->kind == SAM_MAP)];
        json_t *v = NULL;
        int rc = eval(e, item, &v);
        if (rc == EVAL_ERR) {
            json_decref(c);
            return EVAL_ERR;
        }
        if (rc == EVAL_NO_VALUE)
            continue;
        if (n->kind == SAM_SEQ)
            json_array_append_new(c, v);
        else if (n->items[i]->kind == SAM_SCALAR)
            json_object_set_new(c, n->items[i]->value, v);
        else
            json_decref(v);
    }
    *out = c;
    return EVAL_OK;
}

static int eval(evaluator *e, const sam_node *n, json_t **out)
{
    const sam_node *arg = NULL;
    const char *fn = call_name(n, &arg);
    if (!fn)
        return eval_untagged(e, n, out);
    if (++e->depth > MAX_EVAL_DEPTH)
        return fail(e, n, "intrinsic functions nest too deeply");
    int rc;
    if (arg == n && n->tag) {
        /* The tag's argument is the node itself, read without its tag. */
        sam_node plain = *n;
        plain.tag = NULL;
        rc = eval_call(e, n, fn, &plain, out);
    } else {
        rc = eval_call(e, n, fn, arg, out);
    }
    e->depth--;
    return rc;
}

/* Evaluates n to a string (numbers and booleans are text in YAML). NULL and err otherwise. */
static char *eval_string(evaluator *e, const sam_node *n, const char *what)
{
    json_t *v = NULL;
    int rc = eval(e, n, &v);
    char *s = NULL;
    if (rc == EVAL_OK && json_is_string(v))
        s = strdup(json_string_value(v));
    else if (rc != EVAL_ERR)
        fail(e, n, "%s must be a string", what);
    json_decref(v);
    return s;
}

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

static int resolve_parameters(evaluator *e, json_t *overrides)
{
    const sam_node *ps = sam_yaml_get(e->root, "Parameters");
    e->params = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(overrides, key, v) {
        if (!sam_yaml_get(ps, key))
            return fail(e, ps, "--parameter-overrides names %s, which is not a parameter of the "
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

static char *absolute(const evaluator *e, const char *p)
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
static char *unpack_zip(evaluator *e, const sam_node *at, const char *zip)
{
    struct stat st;
    if (stat(zip, &st) < 0) {
        fail(e, at, "%s does not exist: build it first (for this repository: make layer-native), "
                    "or give the function a source folder (see README, Local development)", zip);
        return NULL;
    }
    char dir[PATH_MAX], stamp[PATH_MAX + 16];
    const char *base = strrchr(zip, '/');
    if (snprintf(dir, sizeof dir, "%s/host-local-%u/%s-%lld-%lld",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (unsigned)getuid(), base ? base + 1 : zip,
                 (long long)st.st_ino, (long long)st.st_mtime) >= (int)sizeof dir ||
        snprintf(stamp, sizeof stamp, "%s/.unpacked", dir) >= (int)sizeof stamp) {
        fail(e, at, "the path of %s is too long", zip);
        return NULL;
    }
    if (access(stamp, F_OK) == 0)
        return strdup(dir);
    buf_t cmd = BUF_INIT;
    buf_printf(&cmd, "mkdir -p '%s' && unzip -q -o '%s' -d '%s' && touch '%s'", dir, zip, dir, stamp);
    int rc = system(cmd.data);
    buf_free(&cmd);
    if (rc != 0) {
        fail(e, at, "cannot unpack %s (is unzip installed?)", zip);
        return NULL;
    }
    return strdup(dir);
}

/* A folder or a zip, relative to the template. */
static char *code_location(evaluator *e, const sam_node *n, const char *what)
{
    if (n && n->kind == SAM_MAP && !n->tag) {
        fail(e, n, "%s: an S3 location cannot be run locally; point it at a folder or a zip", what);
        return NULL;
    }
    char *p = n ? eval_string(e, n, what) : strdup(".");
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
        fail(e, n, "%s %s is not a folder or a .zip", what, p);
    free(p);
    return out;
}

/* ---- functions ----------------------------------------------------------------------- */

/* A property of the function, else of Globals.Function. */
static const sam_node *prop(const evaluator *e, const sam_node *props, const char *key)
{
    const sam_node *v = sam_yaml_get(props, key);
    if (v)
        return v;
    return sam_yaml_get(sam_yaml_get(sam_yaml_get(e->root, "Globals"), "Function"), key);
}

static const sam_node *global_prop(const evaluator *e, const char *key)
{
    return sam_yaml_get(sam_yaml_get(sam_yaml_get(e->root, "Globals"), "Function"), key);
}

static int read_number(evaluator *e, const sam_node *n, double lo, double hi, double *out,
                       const char *what)
{
    char *s = eval_string(e, n, what);
    if (!s)
        return -1;
    char *end;
    double v = strtod(s, &end);
    int bad = !*s || *end || !(v >= lo && v <= hi);
    free(s);
    if (bad)
        return fail(e, n, "%s must be a number from %g to %g", what, lo, hi);
    *out = v;
    return 0;
}

/* Globals' variables, then the function's: a function's value wins, as in SAM. */
static int read_environment(evaluator *e, const sam_node *props, sam_function *f)
{
    f->env = json_object();
    const sam_node *sources[2] = {global_prop(e, "Environment"), sam_yaml_get(props, "Environment")};
    for (int i = 0; i < 2; i++) {
        const sam_node *vars = sam_yaml_get(sources[i], "Variables");
        if (!vars)
            continue;
        json_t *obj = NULL;
        if (eval(e, vars, &obj) != EVAL_OK)
            return -1;
        if (!json_is_object(obj)) {
            json_decref(obj);
            return fail(e, vars, "Environment.Variables must be a map");
        }
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v) {
            if (!json_is_string(v)) {
                json_decref(obj);
                return fail(e, vars, "Environment variable %s must evaluate to a string", k);
            }
        }
        json_object_update(f->env, obj);
        json_decref(obj);
    }
    return 0;
}

/* Says once per layer why it is not used. */
static void note_skipped(evaluator *e, const char *ref, const char *why)
{
    if (json_object_get(e->noted, ref))
        return;
    json_object_set_new(e->noted, ref, json_true());
    fprintf(stderr, "host local: layer %s skipped: %s\n", ref, why);
}

static int add_layer(evaluator *e, const sam_node *at, sam_function *f, const char *ref)
{
    const sam_node *res = resource(e, ref);
    const sam_node *type = sam_yaml_get(res, "Type");
    if (!res || !type || type->kind != SAM_SCALAR ||
        (strcmp(type->value, "AWS::Serverless::LayerVersion") != 0 &&
         strcmp(type->value, "AWS::Lambda::LayerVersion") != 0)) {
        if (strncmp(ref, "arn:", 4) == 0) {
            note_skipped(e, ref, "only layers built from a local folder of this template are used");
            return 0;
        }
        return fail(e, at, "layer %s is not a LayerVersion of this template", ref);
    }
    const sam_node *props = sam_yaml_get(res, "Properties");
    const sam_node *uri = sam_yaml_get(props, "ContentUri");
    if (!uri)
        uri = sam_yaml_get(sam_yaml_get(props, "Content"), "S3Key");
    json_t *given = NULL;
    if (uri && eval(e, uri, &given) == EVAL_OK && json_is_string(given)) {
        const char *p = json_string_value(given);
        char joined[PATH_MAX];
        if (snprintf(joined, sizeof joined, "%s/%s", e->dir, p) >= (int)sizeof joined)
            joined[0] = '\0';
        size_t len = strlen(p);
        if (len > 4 && strcmp(p + len - 4, ".zip") == 0 && access(p[0] == '/' ? p : joined, F_OK) < 0) {
            /* Usually the host layer: what runs the function here is this binary. */
            note_skipped(e, ref, "its zip is not built (make layer-native)");
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
        return fail(e, at, "out of memory");
    }
    f->layers = grown;
    f->layers[f->n_layers++] = dir;
    return 0;
}

static int read_layers(evaluator *e, const sam_node *props, sam_function *f)
{
    const sam_node *sources[2] = {global_prop(e, "Layers"), sam_yaml_get(props, "Layers")};
    for (int i = 0; i < 2; i++) {
        if (!sources[i])
            continue;
        json_t *list = NULL;
        if (eval_list(e, sources[i], &list) != EVAL_OK)
            return -1;
        size_t j;
        json_t *v;
        int rc = 0;
        json_array_foreach(list, j, v) {
            if (!json_is_string(v))
                rc = fail(e, sources[i], "Layers: item %zu is not a layer reference", j + 1);
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

static int add_route(evaluator *e, sam_function *f, const sam_node *ev, sam_route_kind kind)
{
    const sam_node *props = sam_yaml_get(ev, "Properties");
    sam_route r = {.kind = kind, .payload_v2 = kind == SAM_ROUTE_HTTP_API};
    const sam_node *m = sam_yaml_get(props, "Method"), *p = sam_yaml_get(props, "Path");
    const sam_node *v = sam_yaml_get(props, "PayloadFormatVersion");
    if (kind == SAM_ROUTE_REST_API && (!m || !p))
        return fail(e, ev, "an Api event needs Path and Method");
    r.method = m ? eval_string(e, m, "Method") : strdup("ANY");
    r.path = p ? eval_string(e, p, "Path") : NULL;
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
        return fail(e, ev, "out of memory");
    }
    f->routes = grown;
    f->routes[f->n_routes++] = r;
    return 0;
}

static int read_events(evaluator *e, const sam_node *props, sam_function *f)
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
static const sam_node *local_code_uri(const evaluator *e, const sam_node *res, const sam_node *props)
{
    const sam_node *m = sam_yaml_get(sam_yaml_get(sam_yaml_get(res, "Metadata"), "HostLocal"), "CodeUri");
    return m ? m : prop(e, props, "CodeUri");
}

static int read_function(evaluator *e, const char *id, const sam_node *res, sam_function *f)
{
    const sam_node *props = sam_yaml_get(res, "Properties");
    f->id = strdup(id);
    f->timeout = DEFAULT_TIMEOUT_S;
    f->memory_mb = DEFAULT_MEMORY_MB;
    if (sam_yaml_get(props, "InlineCode"))
        return fail(e, sam_yaml_get(props, "InlineCode"), "InlineCode is not supported by host local; "
                                                          "put the code in a folder and name it in CodeUri");
    const sam_node *pt = sam_yaml_get(props, "PackageType");
    if (pt && pt->kind == SAM_SCALAR && strcmp(pt->value, "Image") == 0)
        return fail(e, pt, "%s: PackageType Image needs Docker; host local runs Zip functions", id);
    const sam_node *h = prop(e, props, "Handler"), *rt = prop(e, props, "Runtime");
    if (!h)
        return fail(e, res, "function %s has no Handler", id);
    if (!(f->handler = eval_string(e, h, "Handler")))
        return -1;
    if (rt && !(f->runtime = eval_string(e, rt, "Runtime")))
        return -1;
    if (f->runtime && strncmp(f->runtime, "python3", 7) != 0 && strncmp(f->runtime, "provided", 8) != 0)
        return fail(e, rt, "function %s: Runtime %s is not Python; host runs Python handlers "
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
    return read_events(e, props, f);
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

static void add_binary_types(evaluator *e, sam_template *t, const sam_node *list)
{
    json_t *v = NULL;
    if (!list || eval(e, list, &v) != EVAL_OK || !json_is_array(v)) {
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

static int read_resources(evaluator *e, sam_template *t)
{
    const sam_node *rs = sam_yaml_get(e->root, "Resources");
    if (!rs || rs->kind != SAM_MAP)
        return fail(e, e->root, "the template has no Resources map");
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
            return fail(e, res, "out of memory");
        t->fns = grown;
        memset(&t->fns[t->n], 0, sizeof t->fns[t->n]);
        t->n++;
        if (read_function(e, rs->items[i]->value, res, &t->fns[t->n - 1]) < 0)
            return -1;
    }
    if (t->n == 0)
        return fail(e, rs, "the template has no AWS::Serverless::Function");
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
    evaluator e = {.root = root, .path = path, .dir = abs ? abs : ".", .region = o->region,
                   .err = err, .errlen = errlen};
    int rc = -1;
    json_t *none = json_object();
    e.noted = json_object();
    if (root->kind != SAM_MAP)
        fail(&e, root, "a template is a map (AWSTemplateFormatVersion, Resources, ...)");
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
