/* floattext: the per-invocation table of float digits (issue 8): a huge event must not make
 * later invocations pay for its table (a reset that clears it all, a table that never
 * shrinks), and texts with very long exponents must give repr()'s text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floattext.h"
#include "unit.h"

enum { HUGE_EVENT_FLOATS = 700000, SMALL_EVENT_FLOATS = 10 };

/* Remembers n distinct floats, i + 0.5 for i in [first, first + n), from their text. */
static void remember_range(int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char text[32];
        int len = snprintf(text, sizeof text, "%d.5", i);
        floattext_remember(i + 0.5, text, (size_t)len);
    }
}

/* floattext_format(v) against repr(v): 1 when it knows v and writes repr's text. */
static int formats_as_repr(double v)
{
    char known[32];
    size_t n = floattext_format(v, known);
    char *r = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    int same = n > 0 && r && strlen(r) == n && memcmp(known, r, n) == 0;
    PyMem_Free(r);
    return same;
}

/* The reset after a huge event keeps its table (the next event may be as big); the reset
 * after the next small event frees it, so invocations after that work on the table a
 * fresh process has. */
START_TEST(huge_event_table_does_not_outlive_it)
{
    floattext_reset();
    floattext_reset(); /* whatever an earlier test left */
    remember_range(0, SMALL_EVENT_FLOATS);
    size_t fresh = floattext_capacity();
    floattext_reset();
    ck_assert_uint_gt(fresh, 0);

    remember_range(0, HUGE_EVENT_FLOATS);
    size_t huge = floattext_capacity();
    ck_assert_uint_ge(huge, 2 * (size_t)HUGE_EVENT_FLOATS);
    floattext_reset();
    ck_assert_uint_eq(floattext_capacity(), huge);

    remember_range(0, SMALL_EVENT_FLOATS);
    ck_assert(formats_as_repr(3.5));
    floattext_reset();
    ck_assert_msg(floattext_capacity() < huge / 8, "the table still holds %zu entries",
                  floattext_capacity());
    remember_range(0, SMALL_EVENT_FLOATS);
    ck_assert_uint_eq(floattext_capacity(), fresh);
    floattext_reset();
}
END_TEST

/* A reset forgets every entry without clearing the table: entries of earlier invocations
 * are never found, and do not disturb the ones stored after them. */
START_TEST(reset_forgets_every_entry)
{
    floattext_reset();
    remember_range(0, 3000);
    ck_assert(formats_as_repr(2999.5));
    floattext_reset();
    char out[32];
    for (int i = 0; i < 3000; i++)
        ck_assert_msg(floattext_format(i + 0.5, out) == 0, "%d.5 is still known", i);
    remember_range(2000, 3000);
    for (int i = 0; i < 2000; i++)
        ck_assert_msg(floattext_format(i + 0.5, out) == 0, "%d.5 came back", i);
    for (int i = 2000; i < 5000; i++)
        ck_assert_msg(formats_as_repr(i + 0.5), "%d.5 is not written as repr", i);
    floattext_reset();
}
END_TEST

/* Exponents of any length, offset by the fraction's leading zeros: the text written is
 * repr()'s, never the stale or overflowed exponent (it was "1.5e-\x8a00"). */
START_TEST(long_exponents_give_repr)
{
    static const struct {
        const char *text;
        double v;
    } cases[] = {
        {"1.5e+0000000000000000000001", 15.0},
        {"2.5E-0000000000000000000000000003", 0.0025},
        {"1e308", 1e308},
        {"1.25e-307", 1.25e-307},
    };
    floattext_reset();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        floattext_remember(cases[i].v, cases[i].text, strlen(cases[i].text));
        ck_assert_msg(formats_as_repr(cases[i].v), "%s", cases[i].text);
    }
    floattext_reset();
    /* 0.<9999 zeros>15e10000 and 0.<10009 zeros>25e10010 are 1.5 and 2.5. */
    const struct {
        int zeros, exponent;
        const char *digits;
        double v;
    } far[] = {{9999, 10000, "15", 1.5}, {10009, 10010, "25", 2.5}, {29999, 30002, "75", 750.0}};
    for (size_t i = 0; i < sizeof far / sizeof *far; i++) {
        char *big = malloc((size_t)far[i].zeros + 64);
        ck_assert_ptr_nonnull(big);
        memcpy(big, "0.", 2);
        memset(big + 2, '0', (size_t)far[i].zeros);
        int n = 2 + far[i].zeros;
        n += sprintf(big + n, "%se%d", far[i].digits, far[i].exponent);
        floattext_remember(far[i].v, big, (size_t)n);
        free(big);
        ck_assert_msg(formats_as_repr(far[i].v), "%s with %d zeros", far[i].digits, far[i].zeros);
    }
    floattext_reset();
}
END_TEST

static Suite *floattext_suite(void)
{
    Suite *s = suite_create("floattext");
    TCase *tc = tcase_create("floattext");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, huge_event_table_does_not_outlive_it);
    tcase_add_test(tc, reset_forgets_every_entry);
    tcase_add_test(tc, long_exponents_give_repr);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    int rc = unit_main(floattext_suite());
    unit_py_stop();
    return rc;
}
