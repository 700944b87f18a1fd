/* diag: host's own diagnostics ("host: ..." lines on stderr). On Lambda every line a
 * runtime writes becomes a record in the function's CloudWatch log, and the official
 * runtime writes none of its own beyond its "[ERROR] ... LAMBDA_RUNTIME" lines, so these
 * are shown only in local mode or when HOST_DEBUG=1 asks for them. */
#ifndef HOST_DIAG_H
#define HOST_DIAG_H

/* Local mode calls this; otherwise HOST_DEBUG=1 (read once, at the first diag) decides. */
void diag_enable(void);

/* Whether diagnostics are on. */
int diag_on(void);

/* "host: <message>\n" on stderr when diagnostics are on. */
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
