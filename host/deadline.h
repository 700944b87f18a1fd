/* deadline: local mode's invocation deadline. A handler past it gets TimeoutInterrupt from
 * a SIGALRM handler in Python (which also wakes time.sleep); one stuck in C code that never
 * returns to Python is stopped by this watchdog thread, after a grace period. */
#ifndef HOST_DEADLINE_H
#define HOST_DEADLINE_H

#include <pthread.h>

/* Runs on the watchdog thread when an armed deadline (plus grace) passes; it reports the
 * timeout and ends the process (it must not return). */
typedef void (*deadline_expired_fn)(void *ctx);

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int armed, quit;
    double fire_at_ms;         /* monotonic */
    deadline_expired_fn expired;
    void *ctx;
} deadline_t;

/* Starts the watchdog thread; -1 if it cannot. */
int deadline_start(deadline_t *d, deadline_expired_fn expired);

/* Calls expired(ctx) if still armed at fire_at_ms (monotonic ms). ctx must stay valid
 * until deadline_disarm returns. */
void deadline_arm(deadline_t *d, double fire_at_ms, void *ctx);
void deadline_disarm(deadline_t *d);

/* Stops and joins the thread. */
void deadline_stop(deadline_t *d);

/* Monotonic milliseconds. */
double deadline_now_ms(void);

#endif
