/* sam_intrinsics: CloudFormation's intrinsic functions evaluated over a template's YAML tree
 * (sam_yaml): Ref, Fn::Sub, Fn::GetAtt, Fn::If with the template's Conditions (Fn::Equals,
 * Fn::Not, Fn::And, Fn::Or, Condition), Fn::Join, Fn::Select, Fn::Split and Fn::FindInMap, in
 * tag (!Ref) and long ({"Fn::Sub": ...}) form. Results are JSON values (scalars as strings,
 * as YAML wrote them); anything else is an error naming the file and line. */
#ifndef HOST_SAM_INTRINSICS_H
#define HOST_SAM_INTRINSICS_H

#include <jansson.h>
#include <stddef.h>

#include "sam_yaml.h"

#define SAM_LOCAL_ACCOUNT_ID "123456789012" /* what SAM local uses for AWS::AccountId */

#define SAM_EVAL_OK 0
#define SAM_EVAL_NO_VALUE 1 /* AWS::NoValue: the key or item is left out */
#define SAM_EVAL_ERR (-1)

/* One template being read: what evaluation needs, and the reader's own notes. */
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
} sam_evaluator;

/* Evaluates n into *out (a new reference). SAM_EVAL_OK, SAM_EVAL_NO_VALUE, or SAM_EVAL_ERR with
 * the message in e->err. */
int sam_eval(sam_evaluator *e, const sam_node *n, json_t **out);

/* n evaluated to a string (malloc'd); NULL and e->err otherwise. */
char *sam_eval_string(sam_evaluator *e, const sam_node *n, const char *what);

/* n evaluated to a JSON array; SAM_EVAL_ERR (and e->err) for anything else. */
int sam_eval_list(sam_evaluator *e, const sam_node *arg, json_t **out);

/* The resource with that logical id (Borrowed), or NULL. */
const sam_node *sam_eval_resource(const sam_evaluator *e, const char *id);

/* Writes "file:line: <message>" into e->err; returns SAM_EVAL_ERR. */
int sam_eval_fail(sam_evaluator *e, const sam_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
