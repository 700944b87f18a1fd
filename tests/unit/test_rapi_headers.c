/* rapi_headers_feed: the header lines of a GET next answer, as libcurl hands them over
 * (one raw line per call, CRLF included, not NUL-terminated), against spec §3.1/§3.2:
 * names matched case-insensitively, values trimmed, an empty value read as absent; the
 * end of the headers noted; the deadline read as a plain decimal number. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "rapi.h"
#include "unit.h"

static rapi_headers h;

static void setup(void)
{
    memset(&h, 0, sizeof h);
}

static void teardown(void)
{
    rapi_headers_free(&h);
}

static int feed(const char *line)
{
    return rapi_headers_feed(&h, line, strlen(line));
}

#define ck_assert_header(field, want) ck_assert_bytes_str((field).data ? (field).data : "", (field).len, (want))

START_TEST(every_known_header)
{
    ck_assert_int_eq(feed("HTTP/1.1 200 OK\r\n"), 0);
    ck_assert_int_eq(feed("Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n"), 0);
    ck_assert_int_eq(feed("Lambda-Runtime-Deadline-Ms: 1542409706888\r\n"), 0);
    ck_assert_int_eq(feed("Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:custom-runtime\r\n"), 0);
    ck_assert_int_eq(feed("Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n"), 0);
    ck_assert_int_eq(feed("Lambda-Runtime-Client-Context: {\"custom\": {\"a\": 1}}\r\n"), 0);
    ck_assert_int_eq(feed("Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\": \"c\"}\r\n"), 0);
    ck_assert_int_eq(feed("Lambda-Runtime-Aws-Tenant-Id: tenant-A\r\n"), 0);
    ck_assert_int_eq(feed("Lambda-Runtime-Invocation-Id: inv-1\r\n"), 0);
    ck_assert_int_eq(feed("Content-Type: application/json\r\n"), 0);
    ck_assert_int_eq(feed("\r\n"), 0);
    ck_assert_header(h.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    ck_assert_header(h.deadline_ms, "1542409706888");
    ck_assert_header(h.function_arn, "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime");
    ck_assert_header(h.trace_id, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1");
    ck_assert_header(h.client_context, "{\"custom\": {\"a\": 1}}");
    ck_assert_header(h.cognito_identity, "{\"cognitoIdentityId\": \"c\"}");
    ck_assert_header(h.tenant_id, "tenant-A");
    ck_assert_header(h.invocation_id, "inv-1");
    ck_assert_header(h.content_type, "application/json");
    ck_assert_int_eq(h.has_content_type, 1);
    /* values are NUL-terminated C strings */
    ck_assert_str_eq(h.request_id.data, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    ck_assert_str_eq(h.content_type.data, "application/json");
}
END_TEST

START_TEST(names_case_insensitive)
{
    feed("lambda-runtime-aws-request-id: lower\r\n");
    ck_assert_header(h.request_id, "lower");
    feed("LAMBDA-RUNTIME-AWS-REQUEST-ID: upper\r\n");
    ck_assert_header(h.request_id, "upper");
    feed("lAmBdA-rUnTiMe-DeAdLiNe-Ms: 5\r\n");
    ck_assert_header(h.deadline_ms, "5");
    feed("CONTENT-TYPE: text/plain\r\n");
    ck_assert_header(h.content_type, "text/plain");
    ck_assert_int_eq(h.has_content_type, 1);
}
END_TEST

START_TEST(values_trimmed)
{
    feed("Lambda-Runtime-Aws-Request-Id:   \t abc-123 \t \r\n");
    ck_assert_header(h.request_id, "abc-123");
    feed("Lambda-Runtime-Aws-Request-Id:no-space\r\n");
    ck_assert_header(h.request_id, "no-space");
    /* inner spaces stay */
    feed("Lambda-Runtime-Trace-Id:  a b\tc  \r\n");
    ck_assert_header(h.trace_id, "a b\tc");
    /* a value with colons keeps them: only the first colon ends the name */
    feed("Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:x:1:function:f:alias\r\n");
    ck_assert_header(h.function_arn, "arn:aws:lambda:x:1:function:f:alias");
}
END_TEST

START_TEST(empty_values)
{
    feed("Lambda-Runtime-Trace-Id: set-first\r\n");
    feed("Lambda-Runtime-Trace-Id:\r\n");
    ck_assert_uint_eq(h.trace_id.len, 0);
    ck_assert_str_eq(h.trace_id.data, "");
    feed("Lambda-Runtime-Aws-Tenant-Id:    \r\n");
    ck_assert_uint_eq(h.tenant_id.len, 0);
    ck_assert_str_eq(h.tenant_id.data, "");
}
END_TEST

START_TEST(line_endings)
{
    feed("Lambda-Runtime-Aws-Request-Id: lf-only\n");
    ck_assert_header(h.request_id, "lf-only");
    feed("Lambda-Runtime-Aws-Request-Id: no-ending");
    ck_assert_header(h.request_id, "no-ending");
    feed("Lambda-Runtime-Aws-Request-Id: cr-cr-lf\r\r\n");
    ck_assert_header(h.request_id, "cr-cr-lf");
    /* the blank line that ends the headers, and a line without a colon, change nothing */
    ck_assert_int_eq(feed("\r\n"), 0);
    ck_assert_int_eq(feed("garbage without colon\r\n"), 0);
    ck_assert_header(h.request_id, "cr-cr-lf");
}
END_TEST

START_TEST(only_len_bytes_are_read)
{
    /* libcurl's lines are not NUL-terminated: nothing past len may be used */
    static const char line[] = "Lambda-Runtime-Trace-Id: abcXYZ";
    ck_assert_int_eq(rapi_headers_feed(&h, line, strlen(line) - 3), 0);
    ck_assert_header(h.trace_id, "abc");
    static const char nocolon[] = "Content-Type: x";
    ck_assert_int_eq(rapi_headers_feed(&h, nocolon, 12), 0); /* "Content-Type" */
    ck_assert_int_eq(h.has_content_type, 0);
    ck_assert_uint_eq(h.content_type.len, 0);
    static const char status[] = "HTTP/1.1 200 OK";
    feed("Lambda-Runtime-Aws-Request-Id: kept\r\n");
    ck_assert_int_eq(rapi_headers_feed(&h, status, 4), 0); /* "HTTP": not a status line */
    ck_assert_header(h.request_id, "kept");
}
END_TEST

START_TEST(status_line_resets)
{
    feed("HTTP/1.1 100 Continue\r\n");
    feed("Lambda-Runtime-Aws-Request-Id: from-100\r\n");
    feed("Content-Type: text/plain\r\n");
    feed("Lambda-Runtime-Trace-Id: t\r\n");
    feed("\r\n");
    ck_assert_int_eq(feed("HTTP/1.1 200 OK\r\n"), 0);
    ck_assert_uint_eq(h.request_id.len, 0);
    ck_assert_uint_eq(h.trace_id.len, 0);
    ck_assert_uint_eq(h.content_type.len, 0);
    ck_assert_int_eq(h.has_content_type, 0);
    feed("Lambda-Runtime-Aws-Request-Id: from-200\r\n");
    ck_assert_header(h.request_id, "from-200");
    ck_assert_int_eq(h.has_content_type, 0);
    feed("HTTP/2 200\r\n");
    ck_assert_uint_eq(h.request_id.len, 0);
}
END_TEST

START_TEST(unknown_headers_ignored)
{
    feed("Lambda-Runtime-Aws-Request-Id: rid\r\n");
    feed("X-Other: v\r\n");
    feed("Content-Length: 5\r\n");
    feed("Lambda-Runtime-Aws-Request-Id-Extra: not-it\r\n");
    feed("X-Lambda-Runtime-Aws-Request-Id: not-it\r\n");
    feed("Content-Type-Options: nosniff\r\n");
    feed("Lambda-Runtime-Aws-Request-I: short\r\n");
    feed("Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n");
    ck_assert_header(h.request_id, "rid");
    ck_assert_int_eq(h.has_content_type, 0);
    ck_assert_uint_eq(h.content_type.len, 0);
    ck_assert_uint_eq(h.deadline_ms.len, 0);
    ck_assert_uint_eq(h.trace_id.len, 0);
}
END_TEST

START_TEST(content_type_presence_flag)
{
    ck_assert_int_eq(h.has_content_type, 0);
    feed("Content-Type:\r\n");
    ck_assert_int_eq(h.has_content_type, 1);
    ck_assert_uint_eq(h.content_type.len, 0);
    ck_assert_ptr_nonnull(h.content_type.data);
    feed("Content-Type: application/json; charset=utf-8\r\n");
    ck_assert_header(h.content_type, "application/json; charset=utf-8");
    feed("HTTP/1.1 200 OK\r\n");
    ck_assert_int_eq(h.has_content_type, 0);
}
END_TEST

START_TEST(duplicate_header_last_wins)
{
    feed("Lambda-Runtime-Aws-Request-Id: first-and-longer-value\r\n");
    feed("Lambda-Runtime-Aws-Request-Id: second\r\n");
    ck_assert_header(h.request_id, "second");
    ck_assert_str_eq(h.request_id.data, "second");
}
END_TEST

START_TEST(free_releases_and_resets)
{
    feed("Lambda-Runtime-Aws-Request-Id: rid\r\n");
    feed("Content-Type: application/json\r\n");
    rapi_headers_free(&h);
    ck_assert_ptr_null(h.request_id.data);
    ck_assert_ptr_null(h.content_type.data);
    ck_assert_uint_eq(h.request_id.len, 0);
    /* usable again after a free */
    feed("Lambda-Runtime-Aws-Request-Id: again\r\n");
    ck_assert_header(h.request_id, "again");
}
END_TEST

START_TEST(end_of_headers_marks_complete)
{
    /* a reply cut off before the blank line must be told from a whole one (issue 8) */
    ck_assert_int_eq(h.complete, 0);
    feed("HTTP/1.1 200 OK\r\n");
    feed("Lambda-Runtime-Aws-Request-Id: rid\r\n");
    feed("Content-Type: application/json\r\n");
    ck_assert_int_eq(h.complete, 0);
    ck_assert_int_eq(feed("\r\n"), 0);
    ck_assert_int_eq(h.complete, 1);
    ck_assert_header(h.request_id, "rid");
    /* an interim answer's blank line does not count for the final answer */
    feed("HTTP/1.1 100 Continue\r\n");
    ck_assert_int_eq(h.complete, 0);
    feed("\r\n");
    feed("HTTP/1.1 200 OK\r\n");
    ck_assert_int_eq(h.complete, 0);
    feed("\n"); /* a bare LF ends the headers too */
    ck_assert_int_eq(h.complete, 1);
    /* lines that only end in CR LF are no blank line */
    feed("HTTP/1.1 200 OK\r\n");
    feed(" \r\n");
    feed("\r");
    ck_assert_int_eq(h.complete, 0);
}
END_TEST

static long long deadline_of(const char *value)
{
    char line[128];
    snprintf(line, sizeof line, "Lambda-Runtime-Deadline-Ms: %s\r\n", value);
    feed(line);
    return rapi_deadline_ms(&h);
}

START_TEST(deadline_parsed_and_clamped)
{
    ck_assert_int_eq(rapi_deadline_ms(&h), 0); /* absent */
    ck_assert_int_eq(deadline_of("1542409706888"), 1542409706888LL);
    ck_assert_int_eq(deadline_of("  1542409706888 \t"), 1542409706888LL); /* trimmed */
    ck_assert_int_eq(deadline_of("0"), 0);
    ck_assert_int_eq(deadline_of("0001"), 1);
    ck_assert_int_eq(deadline_of(""), 0);
    /* past 64 bits: the largest value, never a wrapped one */
    ck_assert_int_eq(deadline_of("9223372036854775806"), LLONG_MAX - 1);
    ck_assert_int_eq(deadline_of("9223372036854775807"), LLONG_MAX);
    ck_assert_int_eq(deadline_of("9223372036854775808"), LLONG_MAX);
    ck_assert_int_eq(deadline_of("99999999999999999999"), LLONG_MAX);
    ck_assert_int_eq(deadline_of("184467440737095516160000"), LLONG_MAX);
    /* not a plain decimal number: 0 */
    ck_assert_int_eq(deadline_of("-99999999999999999999"), 0);
    ck_assert_int_eq(deadline_of("-1"), 0);
    ck_assert_int_eq(deadline_of("+5"), 0);
    ck_assert_int_eq(deadline_of("12 34"), 0);
    ck_assert_int_eq(deadline_of("1542409706888abc"), 0);
    ck_assert_int_eq(deadline_of("0x10"), 0);
    ck_assert_int_eq(deadline_of("1.5"), 0);
    ck_assert_int_eq(deadline_of("\xd9\xa1"), 0); /* ARABIC-INDIC DIGIT ONE */
    static const char nul[] = "Lambda-Runtime-Deadline-Ms: 12\0""34\r\n";
    ck_assert_int_eq(rapi_headers_feed(&h, nul, sizeof nul - 1), 0);
    ck_assert_int_eq(rapi_deadline_ms(&h), 0);
    /* a later answer without the header: 0 again */
    deadline_of("77");
    feed("HTTP/1.1 200 OK\r\n");
    ck_assert_int_eq(rapi_deadline_ms(&h), 0);
}
END_TEST

static char *api_part(rapi_client *c, CURLUPart part)
{
    char *v = NULL;
    ck_assert_int_eq(curl_url_get(c->api, part, &v, 0), CURLUE_OK);
    return v;
}

START_TEST(client_init_and_free)
{
    rapi_client c;
    ck_assert_int_eq(rapi_init(&c, "127.0.0.1:9001", "host-unit/0"), 0);
    ck_assert_int_eq(c.bad_endpoint, 0);
    char *url = api_part(&c, CURLUPART_URL);
    ck_assert_str_eq(url, "http://127.0.0.1:9001/");
    curl_free(url);
    rapi_free(&c);
    ck_assert_ptr_null(c.api);
    ck_assert_ptr_null(c.curl);
    ck_assert_int_eq(rapi_init(&c, "[::1]:8080", "ua"), 0);
    char *host = api_part(&c, CURLUPART_HOST), *port = api_part(&c, CURLUPART_PORT);
    ck_assert_str_eq(host, "[::1]");
    ck_assert_str_eq(port, "8080");
    curl_free(host);
    curl_free(port);
    rapi_free(&c);
}
END_TEST

/* An endpoint that is no HOST:PORT: every request fails as a request to a bad URL would,
 * with libcurl's own words, and nothing is sent. */
START_TEST(bad_endpoint_fails_each_request)
{
    static const char *const bad[] = {"bad host:1", "127.0.0.1:notaport", "127.0.0.1:99999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rapi_client c;
        ck_assert_int_eq(rapi_init(&c, bad[i], "ua"), 0);
        ck_assert_int_eq(c.bad_endpoint, 1);
        ck_assert_int_eq(rapi_next(&c), RAPI_TRANSPORT_ERROR);
        ck_assert_str_eq(c.errbuf, curl_easy_strerror(CURLE_URL_MALFORMAT));
        ck_assert_int_eq(rapi_post_init_error(&c, "Runtime.X", "{}", 2), RAPI_TRANSPORT_ERROR);
        rapi_free(&c);
    }
}
END_TEST

static Suite *rapi_suite(void)
{
    Suite *s = suite_create("rapi_headers");
    TCase *tc = tcase_create("rapi_headers_feed");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_known_header);
    tcase_add_test(tc, names_case_insensitive);
    tcase_add_test(tc, values_trimmed);
    tcase_add_test(tc, empty_values);
    tcase_add_test(tc, line_endings);
    tcase_add_test(tc, only_len_bytes_are_read);
    tcase_add_test(tc, status_line_resets);
    tcase_add_test(tc, unknown_headers_ignored);
    tcase_add_test(tc, content_type_presence_flag);
    tcase_add_test(tc, duplicate_header_last_wins);
    tcase_add_test(tc, free_releases_and_resets);
    tcase_add_test(tc, end_of_headers_marks_complete);
    tcase_add_test(tc, deadline_parsed_and_clamped);
    suite_add_tcase(s, tc);
    TCase *client = tcase_create("rapi_init");
    tcase_add_test(client, client_init_and_free);
    tcase_add_test(client, bad_endpoint_fails_each_request);
    suite_add_tcase(s, client);
    return s;
}

int main(void)
{
    int rc = unit_main(rapi_suite());
    curl_global_cleanup(); /* what rapi_init's curl_global_init set up, once per process */
    return rc;
}
