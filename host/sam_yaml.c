/* sam_yaml: libyaml's event stream built into a tree of sam_node (see sam_yaml.h). */
#include "sam_yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 200 /* deeper than any template; stops a hostile file from exhausting the stack */

typedef struct {
    yaml_parser_t parser;
    const char *path;
    char *err;
    size_t errlen;
} reader;

void sam_yaml_free(sam_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        sam_yaml_free(n->items[i]);
    free(n->items);
    free(n->tag);
    free(n->value);
    free(n);
}

static int fail(reader *r, int line, const char *what)
{
    snprintf(r->err, r->errlen, "%s:%d: %s", r->path, line, what);
    return -1;
}

static sam_node *new_node(sam_kind kind, const yaml_char_t *tag, int line)
{
    sam_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = line;
    if (tag && !(n->tag = strdup((const char *)tag))) {
        free(n);
        return NULL;
    }
    return n;
}

static int add_item(sam_node *parent, sam_node *child)
{
    sam_node **grown = realloc(parent->items, (parent->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    parent->items = grown;
    parent->items[parent->n++] = child;
    return 0;
}

static int parse_node(reader *r, yaml_event_t *ev, sam_node **out, int depth);

/* Reads items until the end event of the collection that `n` is. */
static int parse_items(reader *r, sam_node *n, yaml_event_type_t end, int depth)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&r->parser, &ev))
            return fail(r, (int)r->parser.problem_mark.line + 1,
                        r->parser.problem ? r->parser.problem : "invalid YAML");
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return 0;
        }
        sam_node *child = NULL;
        int rc = parse_node(r, &ev, &child, depth + 1);
        yaml_event_delete(&ev);
        if (rc < 0)
            return -1;
        if (add_item(n, child) < 0) {
            sam_yaml_free(child);
            return fail(r, n->line, "out of memory");
        }
    }
}

static int parse_node(reader *r, yaml_event_t *ev, sam_node **out, int depth)
{
    int line = (int)ev->start_mark.line + 1;
    if (depth > MAX_DEPTH)
        return fail(r, line, "the document nests too deeply");
    sam_node *n = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (!(n = new_node(SAM_SCALAR, ev->data.scalar.tag, line)))
            return fail(r, line, "out of memory");
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (!(n->value = strdup((const char *)ev->data.scalar.value))) {
            sam_yaml_free(n);
            return fail(r, line, "out of memory");
        }
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int seq = ev->type == YAML_SEQUENCE_START_EVENT;
        n = new_node(seq ? SAM_SEQ : SAM_MAP,
                     seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag, line);
        if (!n)
            return fail(r, line, "out of memory");
        if (parse_items(r, n, seq ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT, depth) < 0) {
            sam_yaml_free(n);
            return -1;
        }
        break;
    }
    case YAML_ALIAS_EVENT:
        return fail(r, line, "YAML aliases (*name) are not supported in a template "
                             "(CloudFormation does not accept them either); write the value out");
    default:
        return fail(r, line, "unexpected YAML structure");
    }
    *out = n;
    return 0;
}

/* Skips events up to the first node of the first document. */
static int parse_document(reader *r, sam_node **out)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&r->parser, &ev))
            return fail(r, (int)r->parser.problem_mark.line + 1,
                        r->parser.problem ? r->parser.problem : "invalid YAML");
        yaml_event_type_t t = ev.type;
        int rc = 0;
        if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
            t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT)
            rc = parse_node(r, &ev, out, 0) < 0 ? -1 : 1;
        else if (t == YAML_STREAM_END_EVENT)
            rc = fail(r, 1, "the file holds no YAML document");
        yaml_event_delete(&ev);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
}

sam_node *sam_yaml_load(const char *path, char *err, size_t errlen)
{
    reader r = {.path = path, .err = err, .errlen = errlen};
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read the template %s: %m", path);
        return NULL;
    }
    sam_node *root = NULL;
    if (!yaml_parser_initialize(&r.parser)) {
        snprintf(err, errlen, "cannot start the YAML parser");
        fclose(f);
        return NULL;
    }
    yaml_parser_set_input_file(&r.parser, f);
    if (parse_document(&r, &root) < 0) {
        sam_yaml_free(root);
        root = NULL;
    }
    yaml_parser_delete(&r.parser);
    fclose(f);
    return root;
}

sam_node *sam_yaml_get(const sam_node *n, const char *key)
{
    if (!n || n->kind != SAM_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        const sam_node *k = n->items[i];
        if (k->kind == SAM_SCALAR && strcmp(k->value, key) == 0)
            return n->items[i + 1];
    }
    return NULL;
}

int sam_yaml_is_null(const sam_node *n)
{
    if (!n)
        return 1;
    if (n->kind != SAM_SCALAR || n->tag || !n->plain)
        return 0;
    return n->value[0] == '\0' || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
           strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}
