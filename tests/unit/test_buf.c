/* buf: growth, appends, printf, reset, NUL termination, and out-of-memory behaviour
 * (an append that cannot be satisfied returns -1 and leaves the buffer unchanged). */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

static void assert_terminated(const buf_t *b)
{
    ck_assert_ptr_nonnull(b->data);
    ck_assert_uint_lt(b->len, b->cap);
    ck_assert_int_eq(b->data[b->len], '\0');
}

START_TEST(init_is_empty)
{
    buf_t b = BUF_INIT;
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    buf_free(&b); /* freeing an untouched buffer is fine */
    ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(append_copies_and_terminates)
{
    buf_t b = BUF_INIT;
    ck_assert_int_eq(buf_append(&b, "abc", 3), 0);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_uint_eq(b.cap, 256); /* first allocation */
    ck_assert_bytes_str(b.data, b.len, "abc");
    assert_terminated(&b);
    ck_assert_int_eq(buf_append_str(&b, "de"), 0);
    ck_assert_int_eq(buf_append_char(&b, 'f'), 0);
    ck_assert_bytes_str(b.data, b.len, "abcdef");
    assert_terminated(&b);
    buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(append_keeps_embedded_nul)
{
    buf_t b = BUF_INIT;
    ck_assert_int_eq(buf_append(&b, "a\0b", 3), 0);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_bytes(b.data, b.len, "a\0b", 3);
    assert_terminated(&b);
    buf_free(&b);
}
END_TEST

START_TEST(empty_append_gives_empty_string)
{
    /* rapi relies on this: an empty header value still leaves data == "" */
    buf_t b = BUF_INIT;
    ck_assert_int_eq(buf_append(&b, "", 0), 0);
    ck_assert_uint_eq(b.len, 0);
    assert_terminated(&b);
    ck_assert_str_eq(b.data, "");
    buf_free(&b);
}
END_TEST

START_TEST(growth_doubles_and_keeps_content)
{
    buf_t b = BUF_INIT;
    char want[2000];
    for (size_t i = 0; i < sizeof want; i++) {
        want[i] = (char)('a' + i % 26);
        ck_assert_int_eq(buf_append_char(&b, want[i]), 0);
        assert_terminated(&b);
        /* capacity is the smallest power of two from 256 that holds len + NUL */
        size_t cap = 256;
        while (cap < b.len + 1)
            cap *= 2;
        ck_assert_uint_eq(b.cap, cap);
    }
    ck_assert_uint_eq(b.len, sizeof want);
    ck_assert_bytes(b.data, b.len, want, sizeof want);
    /* one big append past several doublings at once */
    char big[10000];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(buf_append(&b, big, sizeof big), 0);
    ck_assert_uint_eq(b.len, sizeof want + sizeof big);
    ck_assert_uint_eq(b.cap, 16384);
    ck_assert_bytes(b.data, sizeof want, want, sizeof want);
    ck_assert_bytes(b.data + sizeof want, sizeof big, big, sizeof big);
    assert_terminated(&b);
    buf_free(&b);
}
END_TEST

START_TEST(reserve_grows_without_changing_content)
{
    buf_t b = BUF_INIT;
    ck_assert_int_eq(buf_reserve(&b, 10), 0);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 256);
    ck_assert_int_eq(buf_append_str(&b, "keep"), 0);
    ck_assert_int_eq(buf_reserve(&b, 300), 0);
    ck_assert_uint_eq(b.cap, 512);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_bytes_str(b.data, b.len, "keep");
    char *before = b.data;
    ck_assert_int_eq(buf_reserve(&b, 507), 0); /* 4 + 507 + NUL == 512: no move */
    ck_assert_ptr_eq(b.data, before);
    ck_assert_uint_eq(b.cap, 512);
    ck_assert_int_eq(buf_reserve(&b, 508), 0);
    ck_assert_uint_eq(b.cap, 1024);
    buf_free(&b);
}
END_TEST

START_TEST(printf_formats_and_appends)
{
    buf_t b = BUF_INIT;
    ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
    ck_assert_bytes_str(b.data, b.len, "42-x");
    assert_terminated(&b);
    ck_assert_int_eq(buf_printf(&b, "|%05.1f|%c", 2.5, 'z'), 0);
    ck_assert_bytes_str(b.data, b.len, "42-x|002.5|z");
    assert_terminated(&b);
    ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
    ck_assert_bytes_str(b.data, b.len, "42-x|002.5|z");
    assert_terminated(&b);
    buf_free(&b);
}
END_TEST

START_TEST(printf_grows_past_first_allocation)
{
    buf_t b = BUF_INIT;
    ck_assert_int_eq(buf_append_str(&b, "pre:"), 0);
    ck_assert_int_eq(buf_printf(&b, "%0600d", 7), 0);
    ck_assert_uint_eq(b.len, 604);
    ck_assert_uint_eq(b.cap, 1024);
    ck_assert_mem_eq(b.data, "pre:000", 7);
    ck_assert_int_eq(b.data[603], '7');
    assert_terminated(&b);
    buf_free(&b);
}
END_TEST

START_TEST(printf_on_empty_buffer)
{
    buf_t b = BUF_INIT;
    ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
    ck_assert_uint_eq(b.len, 0);
    assert_terminated(&b);
    buf_free(&b);
}
END_TEST

START_TEST(reset_keeps_memory)
{
    buf_t b = BUF_INIT;
    buf_reset(&b); /* on a never-allocated buffer: nothing to touch */
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(buf_append_str(&b, "hello"), 0);
    char *data = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_ptr_eq(b.data, data);
    ck_assert_uint_eq(b.cap, cap);
    ck_assert_str_eq(b.data, "");
    ck_assert_int_eq(buf_append_str(&b, "hi"), 0);
    ck_assert_bytes_str(b.data, b.len, "hi");
    assert_terminated(&b);
    buf_free(&b);
}
END_TEST

/* ---- out of memory: the request cannot be met; -1 and the buffer unchanged ---- */

typedef struct {
    buf_t b;
    char *data;
    size_t len, cap;
} snapshot;

static void take(snapshot *s, const char *content)
{
    s->b = (buf_t)BUF_INIT;
    if (content)
        ck_assert_int_eq(buf_append_str(&s->b, content), 0);
    s->data = s->b.data;
    s->len = s->b.len;
    s->cap = s->b.cap;
}

static int unchanged(const snapshot *s, const char *content)
{
    return s->b.data == s->data && s->b.len == s->len && s->b.cap == s->cap &&
           (!content || strcmp(s->b.data, content) == 0);
}

START_TEST(oom_reserve_too_large)
{
    /* 2^61 bytes cannot be had: realloc fails, buf_reserve reports it. */
    snapshot s;
    take(&s, "abc");
    ck_assert_int_eq(buf_reserve(&s.b, (size_t)1 << 61), -1);
    ck_assert(unchanged(&s, "abc"));
    ck_assert_int_eq(buf_append(&s.b, "x", (size_t)1 << 61), -1);
    ck_assert(unchanged(&s, "abc"));
    buf_free(&s.b);
}
END_TEST

/* Regression (host/buf.c buf_reserve, fixed): `b->len + extra + 1` wraps around for
 * extra >= SIZE_MAX - len, so the request looks already satisfied and 0 is returned. */
START_TEST(oom_reserve_size_max_empty)
{
    snapshot s;
    take(&s, NULL);
    int rc = buf_reserve(&s.b, SIZE_MAX);
    int same = unchanged(&s, NULL);
    buf_free(&s.b);
    ck_assert_int_eq(rc, -1);
    ck_assert(same);
}
END_TEST

/* Regression (host/buf.c buf_reserve, fixed): same wrap-around with content in the buffer. */
START_TEST(oom_reserve_size_max_nonempty)
{
    snapshot s;
    take(&s, "abc");
    int rc1 = buf_reserve(&s.b, SIZE_MAX);
    int same1 = unchanged(&s, "abc");
    int rc2 = buf_reserve(&s.b, SIZE_MAX - 3);
    int same2 = unchanged(&s, "abc");
    buf_free(&s.b); /* before asserting: a failure must not show as a leak too */
    ck_assert_int_eq(rc1, -1);
    ck_assert(same1);
    ck_assert_int_eq(rc2, -1);
    ck_assert(same2);
}
END_TEST

/* Child bodies: 0 when buf behaved, status 1 a wrong return value, 2 the buffer changed. A crash or a
 * hang shows as a signal. */
static int child_append_size_max(void *arg)
{
    (void)arg;
    snapshot s;
    take(&s, "abc");
    int rc = buf_append(&s.b, "x", SIZE_MAX) != -1 ? 1 : unchanged(&s, "abc") ? 0 : 2;
    buf_free(&s.b);
    return rc;
}

static int child_reserve_half(void *arg)
{
    (void)arg;
    snapshot s;
    take(&s, NULL);
    /* need > SIZE_MAX / 2: doubling the capacity overflows */
    int rc = buf_reserve(&s.b, SIZE_MAX / 2 + 2) != -1 ? 1 : unchanged(&s, NULL) ? 0 : 2;
    buf_free(&s.b);
    return rc;
}

static const char *outcome(int rc)
{
    return rc == 1 ? "returned 0, not -1" : rc == 2 ? "changed the buffer" : unit_child_outcome(rc);
}

/* Regression (host/buf.c buf_reserve, fixed): the wrapped-around size makes buf_append memcpy
 * SIZE_MAX bytes: a crash instead of -1. */
START_TEST(oom_append_size_max)
{
    int rc = unit_in_child(child_append_size_max, NULL, 3);
    ck_assert_msg(rc == 0, "buf_append(SIZE_MAX): %s", outcome(rc));
}
END_TEST

/* Regression (host/buf.c buf_reserve, fixed): for need > SIZE_MAX/2 `cap *= 2` overflows to 0 and
 * `while (cap < need)` never ends: a hang instead of -1. */
START_TEST(oom_reserve_over_half_address_space)
{
    int rc = unit_in_child(child_reserve_half, NULL, 3);
    ck_assert_msg(rc == 0, "buf_reserve(SIZE_MAX/2 + 2): %s", outcome(rc));
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, init_is_empty);
    tcase_add_test(tc, append_copies_and_terminates);
    tcase_add_test(tc, append_keeps_embedded_nul);
    tcase_add_test(tc, empty_append_gives_empty_string);
    tcase_add_test(tc, growth_doubles_and_keeps_content);
    tcase_add_test(tc, reserve_grows_without_changing_content);
    tcase_add_test(tc, printf_formats_and_appends);
    tcase_add_test(tc, printf_grows_past_first_allocation);
    tcase_add_test(tc, printf_on_empty_buffer);
    tcase_add_test(tc, reset_keeps_memory);
    suite_add_tcase(s, tc);
    TCase *oom = tcase_create("out-of-memory");
    tcase_set_timeout(oom, 30);
    tcase_add_test(oom, oom_reserve_too_large);
    tcase_add_test(oom, oom_reserve_size_max_empty);
    tcase_add_test(oom, oom_reserve_size_max_nonempty);
    tcase_add_test(oom, oom_append_size_max);
    tcase_add_test(oom, oom_reserve_over_half_address_space);
    suite_add_tcase(s, oom);
    return s;
}

int main(void)
{
    return unit_main(buf_suite());
}
