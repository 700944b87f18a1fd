/* context: awslambdaric.lambda_context.LambdaContext as a C type. Its attributes live in
 * an ordinary instance __dict__ (so vars(), setattr and subclasses behave as with the
 * official Python class), but building one per invocation costs a fraction of running
 * the Python __init__. The Python half supplies the pieces that are Python objects:
 * CognitoIdentity, the client-context builders and the log sink. */
#ifndef HOST_CONTEXT_H
#define HOST_CONTEXT_H

#include <Python.h>

/* Adds the type to the _host module as `LambdaContext`. -1 on error. */
int context_add_type(PyObject *module);

/* A new context for one invocation. client_context and cognito are the parsed header
 * dicts, or Py_None (borrowed). Reads the AWS_LAMBDA_* variables from os.environ now, as
 * the official runtime does. New reference. */
PyObject *context_create(PyObject *request_id, long long deadline_ms, PyObject *function_arn,
                         PyObject *tenant_id, PyObject *client_context, PyObject *cognito);

#endif
