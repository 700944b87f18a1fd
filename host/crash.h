/* crash: when the interpreter dies of a fatal signal (os.abort(), a segfault in an
 * extension), report it before the process goes: in runtime mode an error post for the
 * current invocation (Runtime.ExitError), in local mode the same JSON on stdout. Python's
 * faulthandler prints the Python traceback to stderr first. Everything in the signal
 * handler is async-signal-safe: raw syscalls on buffers prepared in advance. */
#ifndef HOST_CRASH_H
#define HOST_CRASH_H

/* Installs the handlers. endpoint is AWS_LAMBDA_RUNTIME_API (runtime mode) or NULL;
 * result_fd is local mode's result stream or -1. Call before the interpreter starts so
 * that faulthandler chains to these handlers. */
void crash_install(const char *endpoint, int result_fd);

/* The invocation in flight (a string that outlives it), or NULL between invocations. */
void crash_set_request(const char *request_id);

#endif
