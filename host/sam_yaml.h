/* sam_yaml: a YAML document (libyaml) as a small tree that keeps each node's tag and line,
 * so a CloudFormation template's !Ref/!Sub/... tags and the line of anything host cannot
 * use survive until the template reader looks at them. Scalars stay text. */
#ifndef HOST_SAM_YAML_H
#define HOST_SAM_YAML_H

#include <stddef.h>

typedef enum { SAM_SCALAR, SAM_SEQ, SAM_MAP } sam_kind;

typedef struct sam_node {
    sam_kind kind;
    char *tag;               /* "!Ref", "!Sub", ...; NULL when untagged */
    char *value;             /* SAM_SCALAR: the text */
    int plain;               /* SAM_SCALAR: unquoted (so "null", "~" and "" mean nothing) */
    int line;                /* 1-based */
    struct sam_node **items; /* SAM_SEQ: the items; SAM_MAP: key, value, key, value, ... */
    size_t n;                /* number of entries in items */
} sam_node;

/* Parses the first document of path. NULL on error, with a message naming the file and the
 * line in err. The caller frees the tree with sam_yaml_free. */
sam_node *sam_yaml_load(const char *path, char *err, size_t errlen);
void sam_yaml_free(sam_node *n);

/* The value of key in a SAM_MAP (Borrowed); NULL when n is not a map or has no such key. */
sam_node *sam_yaml_get(const sam_node *n, const char *key);

/* 1 when n is absent or a plain null scalar. */
int sam_yaml_is_null(const sam_node *n);

#endif
