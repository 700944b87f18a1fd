/* sam_intrinsics: CloudFormation intrinsic functions over the YAML tree (see sam_intrinsics.h). */
#include "sam_intrinsics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define LOCAL_STACK_NAME "local"
#define MAX_EVAL_DEPTH 64 /* conditions that name each other stop here */

int sam_eval_fail(sam_evaluator *e, const sam_node *at, const char *fmt, ...)
{
    int n = snprintf(e->err, e->errlen, "%s:%d: ", e->path, at ? at->line : 1);
    if (n < 0 || (size_t)n >= e->errlen)
        return SAM_EVAL_ERR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err + n, e->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return SAM_EVAL_ERR;
}

/* ---- Ref, GetAtt, Sub ---------------------------------------------------------------- */

const sam_node *sam_eval_resource(const sam_evaluator *e, const char *id)
{
    return sam_yaml_get(sam_yaml_get(e->root, "Resources"), id);
}

/* The text a name in Ref or ${...} stands for; NULL (and err) when unknown. */
static const char *ref_text(sam_evaluator *e, const sam_node *at, const char *name, char *scratch,
                            size_t len)
{
    json_t *p = json_object_get(e->params, name);
    if (p)
        return json_string_value(p);
    if (strcmp(name, "AWS::Region") == 0)
        return e->region;
    if (strcmp(name, "AWS::AccountId") == 0)
        return SAM_LOCAL_ACCOUNT_ID;
    if (strcmp(name, "AWS::StackName") == 0)
        return LOCAL_STACK_NAME;
    if (strcmp(name, "AWS::Partition") == 0)
        return "aws";
    if (strcmp(name, "AWS::URLSuffix") == 0)
        return "amazonaws.com";
    if (strcmp(name, "AWS::StackId") == 0) {
        snprintf(scratch, len, "arn:aws:cloudformation:%s:%s:stack/%s/local", e->region,
                 SAM_LOCAL_ACCOUNT_ID, LOCAL_STACK_NAME);
        return scratch;
    }
    /* A resource has no physical name locally: its logical id stands in, as in SAM local. */
    if (sam_eval_resource(e, name))
        return name;
    sam_eval_fail(e, at, "!Ref %s: no parameter, pseudo parameter or resource has that name", name);
    return NULL;
}

static int getatt_text(sam_evaluator *e, const sam_node *at, const char *res, const char *attr,
                       buf_t *out)
{
    if (!sam_eval_resource(e, res))
        return sam_eval_fail(e, at, "!GetAtt %s.%s: the template has no resource %s", res, attr, res);
    int rc = strcmp(attr, "Arn") == 0
                 ? buf_printf(out, "arn:aws:local:%s:%s:%s", e->region, SAM_LOCAL_ACCOUNT_ID, res)
                 : buf_printf(out, "%s.%s", res, attr);
    return rc < 0 ? sam_eval_fail(e, at, "out of memory") : SAM_EVAL_OK;
}

static int eval_ref(sam_evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SCALAR)
        return sam_eval_fail(e, arg, "!Ref wants the name of a parameter or resource");
    if (strcmp(arg->value, "AWS::NoValue") == 0)
        return SAM_EVAL_NO_VALUE;
    char scratch[256];
    const char *v = ref_text(e, arg, arg->value, scratch, sizeof scratch);
    if (!v)
        return SAM_EVAL_ERR;
    *out = json_string(v);
    return SAM_EVAL_OK;
}

static int eval_getatt(sam_evaluator *e, const sam_node *arg, json_t **out)
{
    char res[256] = "", attr[256] = "";
    if (arg->kind == SAM_SCALAR) {
        const char *dot = strchr(arg->value, '.');
        if (!dot)
            return sam_eval_fail(e, arg, "!GetAtt wants Resource.Attribute, not '%s'", arg->value);
        snprintf(res, sizeof res, "%.*s", (int)(dot - arg->value), arg->value);
        snprintf(attr, sizeof attr, "%s", dot + 1);
    } else if (arg->kind == SAM_SEQ && arg->n == 2 && arg->items[0]->kind == SAM_SCALAR &&
               arg->items[1]->kind == SAM_SCALAR) {
        snprintf(res, sizeof res, "%s", arg->items[0]->value);
        snprintf(attr, sizeof attr, "%s", arg->items[1]->value);
    } else {
        return sam_eval_fail(e, arg, "!GetAtt wants Resource.Attribute or [Resource, Attribute]");
    }
    buf_t b = BUF_INIT;
    int rc = getatt_text(e, arg, res, attr, &b);
    if (rc == SAM_EVAL_OK)
        *out = json_string(b.data);
    buf_free(&b);
    return rc;
}

/* One ${name} of a !Sub: a variable of its map, a parameter, Res.Attr or a pseudo parameter. */
static int sub_name(sam_evaluator *e, const sam_node *at, const char *name, json_t *vars, buf_t *out)
{
    json_t *v = json_object_get(vars, name);
    if (v) {
        if (!json_is_string(v))
            return sam_eval_fail(e, at, "!Sub variable %s is not a string", name);
        return buf_append_str(out, json_string_value(v)) < 0 ? sam_eval_fail(e, at, "out of memory") : SAM_EVAL_OK;
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
        return SAM_EVAL_ERR;
    return buf_append_str(out, t) < 0 ? sam_eval_fail(e, at, "out of memory") : SAM_EVAL_OK;
}

static int sub_string(sam_evaluator *e, const sam_node *at, const char *s, json_t *vars, json_t **out)
{
    buf_t b = BUF_INIT;
    int rc = buf_append_str(&b, "");
    for (const char *p = s; rc == SAM_EVAL_OK && *p;) {
        const char *open = strstr(p, "${");
        if (!open) {
            rc = buf_append_str(&b, p);
            break;
        }
        rc = buf_append(&b, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        if (rc < 0 || !close) {
            rc = rc < 0 ? sam_eval_fail(e, at, "out of memory") : sam_eval_fail(e, at, "!Sub: '${' without '}' in '%s'", s);
            break;
        }
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(close - open - 2), open + 2);
        if (name[0] == '!') /* ${!Literal} is the text ${Literal} */
            rc = buf_printf(&b, "${%s}", name + 1) < 0 ? sam_eval_fail(e, at, "out of memory") : SAM_EVAL_OK;
        else
            rc = sub_name(e, at, name, vars, &b);
        p = close + 1;
    }
    if (rc == SAM_EVAL_OK)
        *out = json_string(b.data);
    buf_free(&b);
    return rc < 0 ? SAM_EVAL_ERR : SAM_EVAL_OK;
}

static int eval_sub(sam_evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind == SAM_SCALAR)
        return sub_string(e, arg, arg->value, NULL, out);
    if (arg->kind != SAM_SEQ || arg->n != 2 || arg->items[0]->kind != SAM_SCALAR)
        return sam_eval_fail(e, arg, "!Sub wants a string or [string, {variables}]");
    json_t *vars = NULL;
    int rc = sam_eval(e, arg->items[1], &vars);
    if (rc == SAM_EVAL_OK && !json_is_object(vars))
        rc = sam_eval_fail(e, arg->items[1], "!Sub's second item must be a map of variables");
    if (rc == SAM_EVAL_OK)
        rc = sub_string(e, arg, arg->items[0]->value, vars, out);
    json_decref(vars);
    return rc < 0 ? SAM_EVAL_ERR : SAM_EVAL_OK;
}

/* ---- conditions, If, Join, Select, Split, FindInMap ----------------------------------- */

static int eval_condition_expr(sam_evaluator *e, const sam_node *n, int *truth);

static int eval_named_condition(sam_evaluator *e, const sam_node *at, const char *name, int *truth)
{
    const sam_node *c = sam_yaml_get(sam_yaml_get(e->root, "Conditions"), name);
    if (!c)
        return sam_eval_fail(e, at, "the template has no condition named %s", name);
    if (++e->depth > MAX_EVAL_DEPTH)
        return sam_eval_fail(e, at, "condition %s refers to itself", name);
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

static int eval_untagged(sam_evaluator *e, const sam_node *n, json_t **out);

static int eval_condition_expr(sam_evaluator *e, const sam_node *n, int *truth)
{
    const sam_node *arg = NULL;
    const char *fn = call_name(n, &arg);
    if (!fn)
        return sam_eval_fail(e, n, "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition");
    if (strcmp(fn, "Condition") == 0) {
        if (arg->kind != SAM_SCALAR)
            return sam_eval_fail(e, arg, "Condition wants a condition's name");
        return eval_named_condition(e, arg, arg->value, truth);
    }
    if (arg->kind != SAM_SEQ)
        return sam_eval_fail(e, arg, "%s wants a list", fn);
    if (strcmp(fn, "Fn::Equals") == 0) {
        if (arg->n != 2)
            return sam_eval_fail(e, arg, "Fn::Equals wants two values");
        json_t *a = NULL, *b = NULL;
        int rc = sam_eval(e, arg->items[0], &a);
        if (rc == SAM_EVAL_OK)
            rc = sam_eval(e, arg->items[1], &b);
        if (rc == SAM_EVAL_OK)
            *truth = json_equal(a, b);
        json_decref(a);
        json_decref(b);
        return rc == SAM_EVAL_NO_VALUE ? sam_eval_fail(e, arg, "Fn::Equals of AWS::NoValue") : rc;
    }
    int is_and = strcmp(fn, "Fn::And") == 0, is_or = strcmp(fn, "Fn::Or") == 0;
    int is_not = strcmp(fn, "Fn::Not") == 0;
    if (!is_and && !is_or && !is_not)
        return sam_eval_fail(e, n, "%s is not a condition function host can evaluate", fn);
    if (is_not && arg->n != 1)
        return sam_eval_fail(e, arg, "Fn::Not wants one condition");
    int acc = is_and;
    for (size_t i = 0; i < arg->n; i++) {
        int t = 0;
        if (eval_condition_expr(e, arg->items[i], &t) < 0)
            return SAM_EVAL_ERR;
        acc = is_and ? (acc && t) : is_or ? (acc || t) : !t;
    }
    *truth = acc;
    return SAM_EVAL_OK;
}

static int eval_if(sam_evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 3 || arg->items[0]->kind != SAM_SCALAR)
        return sam_eval_fail(e, arg, "!If wants [ConditionName, value if true, value if false]");
    int truth = 0;
    if (eval_named_condition(e, arg->items[0], arg->items[0]->value, &truth) < 0)
        return SAM_EVAL_ERR;
    return sam_eval(e, arg->items[truth ? 1 : 2], out);
}

/* Evaluates a list argument into a JSON array of its items. */
int sam_eval_list(sam_evaluator *e, const sam_node *arg, json_t **out)
{
    int rc = sam_eval(e, arg, out);
    if (rc == SAM_EVAL_OK && !json_is_array(*out)) {
        json_decref(*out);
        return sam_eval_fail(e, arg, "a list is wanted here");
    }
    return rc;
}

static int eval_join(sam_evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 2 || arg->items[0]->kind != SAM_SCALAR)
        return sam_eval_fail(e, arg, "!Join wants [delimiter, [values]]");
    json_t *list = NULL;
    if (sam_eval_list(e, arg->items[1], &list) != SAM_EVAL_OK)
        return SAM_EVAL_ERR;
    buf_t b = BUF_INIT;
    int rc = buf_append_str(&b, "");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v)) {
            rc = sam_eval_fail(e, arg->items[1], "!Join: item %zu is not a string", i + 1);
            break;
        }
        if ((i > 0 && buf_append_str(&b, arg->items[0]->value) < 0) ||
            buf_append_str(&b, json_string_value(v)) < 0) {
            rc = sam_eval_fail(e, arg, "out of memory");
            break;
        }
    }
    if (rc == SAM_EVAL_OK)
        *out = json_string(b.data);
    buf_free(&b);
    json_decref(list);
    return rc < 0 ? SAM_EVAL_ERR : SAM_EVAL_OK;
}

static int eval_select(sam_evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 2)
        return sam_eval_fail(e, arg, "!Select wants [index, [values]]");
    json_t *idx = NULL, *list = NULL;
    int rc = sam_eval(e, arg->items[0], &idx);
    if (rc == SAM_EVAL_OK)
        rc = sam_eval_list(e, arg->items[1], &list);
    if (rc == SAM_EVAL_OK) {
        char *end = NULL;
        const char *s = json_string_value(idx);
        long i = s ? strtol(s, &end, 10) : -1;
        if (!s || *end || i < 0 || (size_t)i >= json_array_size(list))
            rc = sam_eval_fail(e, arg, "!Select: index out of range");
        else
            *out = json_incref(json_array_get(list, (size_t)i));
    }
    json_decref(idx);
    json_decref(list);
    return rc;
}

static int eval_split(sam_evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 2 || arg->items[0]->kind != SAM_SCALAR ||
        !arg->items[0]->value[0])
        return sam_eval_fail(e, arg, "!Split wants [delimiter, string]");
    json_t *s = NULL;
    int rc = sam_eval(e, arg->items[1], &s);
    if (rc == SAM_EVAL_OK && !json_is_string(s))
        rc = sam_eval_fail(e, arg->items[1], "!Split: the second item must be a string");
    if (rc == SAM_EVAL_OK) {
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

static int eval_findinmap(sam_evaluator *e, const sam_node *arg, json_t **out)
{
    if (arg->kind != SAM_SEQ || arg->n != 3)
        return sam_eval_fail(e, arg, "!FindInMap wants [MapName, TopLevelKey, SecondLevelKey]");
    json_t *k[3] = {NULL, NULL, NULL};
    int rc = SAM_EVAL_OK;
    for (int i = 0; i < 3 && rc == SAM_EVAL_OK; i++) {
        rc = sam_eval(e, arg->items[i], &k[i]);
        if (rc == SAM_EVAL_OK && !json_is_string(k[i]))
            rc = sam_eval_fail(e, arg->items[i], "!FindInMap: keys must be strings");
    }
    if (rc == SAM_EVAL_OK) {
        const sam_node *v = sam_yaml_get(
            sam_yaml_get(sam_yaml_get(sam_yaml_get(e->root, "Mappings"), json_string_value(k[0])),
                         json_string_value(k[1])),
            json_string_value(k[2]));
        rc = v ? sam_eval(e, v, out)
               : sam_eval_fail(e, arg, "!FindInMap: Mappings has no %s / %s / %s", json_string_value(k[0]),
                      json_string_value(k[1]), json_string_value(k[2]));
    }
    for (int i = 0; i < 3; i++)
        json_decref(k[i]);
    return rc;
}

static int eval_call(sam_evaluator *e, const sam_node *at, const char *fn, const sam_node *arg,
                     json_t **out)
{
    static const struct {
        const char *name;
        int (*eval)(sam_evaluator *, const sam_node *, json_t **);
    } fns[] = {
        {"Ref", eval_ref}, {"Fn::Sub", eval_sub}, {"Fn::GetAtt", eval_getatt}, {"Fn::If", eval_if},
        {"Fn::Join", eval_join}, {"Fn::Select", eval_select}, {"Fn::Split", eval_split},
        {"Fn::FindInMap", eval_findinmap},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strcmp(fn, fns[i].name) == 0)
            return fns[i].eval(e, arg, out);
    if (strncmp(fn, "Fn::", 4) == 0 || fn[0] == '!')
        return sam_eval_fail(e, at, "%s is not supported by host local (supported: Ref, Fn::Sub, Fn::GetAtt, "
                           "Fn::If, Fn::Join, Fn::Select, Fn::Split, Fn::FindInMap and conditions); "
                           "write the value out or pass it with --parameter-overrides", fn);
    return sam_eval_fail(e, at, "%s cannot be used as a value here", fn);
}

static int eval_untagged(sam_evaluator *e, const sam_node *n, json_t **out)
{
    if (n->kind == SAM_SCALAR) {
        *out = sam_yaml_is_null(n) ? json_null() : json_string(n->value);
        return SAM_EVAL_OK;
    }
    json_t *c = n->kind == SAM_SEQ ? json_array() : json_object();
    for (size_t i = 0; i < n->n; i += (n->kind == SAM_SEQ ? 1 : 2)) {
        const sam_node *item = n->items[i + (n->kind == SAM_MAP)];
        json_t *v = NULL;
        int rc = sam_eval(e, item, &v);
        if (rc == SAM_EVAL_ERR) {
            json_decref(c);
            return SAM_EVAL_ERR;
        }
        if (rc == SAM_EVAL_NO_VALUE)
            continue;
        if (n->kind == SAM_SEQ)
            json_array_append_new(c, v);
        else if (n->items[i]->kind == SAM_SCALAR)
            json_object_set_new(c, n->items[i]->value, v);
        else
            json_decref(v);
    }
    *out = c;
    return SAM_EVAL_OK;
}

int sam_eval(sam_evaluator *e, const sam_node *n, json_t **out)
{
    const sam_node *arg = NULL;
    const char *fn = call_name(n, &arg);
    if (!fn)
        return eval_untagged(e, n, out);
    if (++e->depth > MAX_EVAL_DEPTH)
        return sam_eval_fail(e, n, "intrinsic functions nest too deeply");
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
char *sam_eval_string(sam_evaluator *e, const sam_node *n, const char *what)
{
    json_t *v = NULL;
    int rc = sam_eval(e, n, &v);
    char *s = NULL;
    if (rc == SAM_EVAL_OK && json_is_string(v))
        s = strdup(json_string_value(v));
    else if (rc != SAM_EVAL_ERR)
        sam_eval_fail(e, n, "%s must be a string", what);
    json_decref(v);
    return s;
}

