/* workers: Lambda Managed Instances' multi-concurrency. When AWS_LAMBDA_MAX_CONCURRENCY
 * is set, the official runtime runs that many worker processes, each with its own full
 * init and its own loop; host does the same, forking before the interpreter starts. */
#ifndef HOST_WORKERS_H
#define HOST_WORKERS_H

/* The number of workers AWS_LAMBDA_MAX_CONCURRENCY asks for, 0 when unset, -1 (and a
 * message) when it is not a positive integer. */
int workers_requested(void);

/* Forks n workers. In each worker returns 0 (go on as a worker: see workers_is_worker);
 * in the parent waits for all of them and returns the exit status (> 0 if any failed). */
int workers_run(int n, int *is_parent);

/* 1 in a worker process: failed posts do not end the loop, next is retried longer. */
int workers_is_worker(void);

#endif
