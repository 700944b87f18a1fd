#include "deadline.h"

#include <string.h>
#include <time.h>

double deadline_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void *watchdog_main(void *arg)
{
    deadline_t *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->quit) {
        if (!d->armed) {
            pthread_cond_wait(&d->wake, &d->lock);
            continue;
        }
        double left = d->fire_at_ms - deadline_now_ms();
        if (left <= 0) {
            d->expired(d->ctx); /* does not return */
            break;
        }
        /* condition variables wait on CLOCK_REALTIME; a wake-up re-checks the clock. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long ns = (long long)ts.tv_nsec + (long long)(left * 1e6);
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&d->wake, &d->lock, &ts);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

int deadline_start(deadline_t *d, deadline_expired_fn expired)
{
    memset(d, 0, sizeof *d);
    d->expired = expired;
    if (pthread_mutex_init(&d->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&d->wake, NULL) != 0 ||
        pthread_create(&d->thread, NULL, watchdog_main, d) != 0) {
        pthread_mutex_destroy(&d->lock);
        return -1;
    }
    return 0;
}

static void set_state(deadline_t *d, int armed, int quit, double fire_at_ms, void *ctx)
{
    pthread_mutex_lock(&d->lock);
    d->armed = armed;
    d->quit = quit;
    d->fire_at_ms = fire_at_ms;
    d->ctx = ctx;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
}

void deadline_arm(deadline_t *d, double fire_at_ms, void *ctx)
{
    set_state(d, 1, 0, fire_at_ms, ctx);
}

void deadline_disarm(deadline_t *d)
{
    set_state(d, 0, 0, 0, NULL);
}

void deadline_stop(deadline_t *d)
{
    set_state(d, 0, 1, 0, NULL);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
}
