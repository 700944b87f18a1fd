/* sam: `host local`'s pure pieces: base64, the template reader (intrinsics, Globals, errors
 * that name the line), and API Gateway's event and response mapping. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sam_apigw.h"
#include "sam_b64.h"
#include "sam_template.h"
#include "unit.h"

START_TEST(b64_round_trip)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (size_t n = 0; n <= 256; n += 37) {
        buf_t enc = BUF_INIT, dec = BUF_INIT;
        ck_assert_int_eq(sam_b64_encode(&enc, all, n), 0);
        ck_assert_uint_eq(enc.len, (n + 2) / 3 * 4);
        ck_assert_int_eq(sam_b64_decode(&dec, enc.data, enc.len), 0);
        ck_assert_bytes(dec.data, dec.len, (const char *)all, n);
        buf_free(&enc);
        buf_free(&dec);
    }
    buf_t b = BUF_INIT;
    ck_assert_int_eq(sam_b64_encode(&b, "Ma", 2), 0);
    ck_assert_str_eq(b.data, "TWE=");
    buf_free(&b);
    ck_assert_int_eq(sam_b64_decode(&b, "TW E=\n", 6), 0);
    ck_assert_bytes_str(b.data, b.len, "Ma");
    buf_reset(&b);
    ck_assert_int_eq(sam_b64_decode(&b, "TW*=", 4), -1);
    buf_free(&b);
}
END_TEST

static char *write_template(const char *text)
{
    static char path[] = "/tmp/host-unit-sam-XXXXXX.yaml";
    strcpy(path, "/tmp/host-unit-sam-XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static const char TEMPLATE[] =
    "Parameters:\n"
    "  Stage: {Type: String, Default: dev}\n"
    "Conditions:\n"
    "  IsProd: !Equals [!Ref Stage, prod]\n"
    "Globals:\n"
    "  Function:\n"
    "    Timeout: 9\n"
    "    Environment:\n"
    "      Variables: {G: global, SHARED: from-globals}\n"
    "Resources:\n"
    "  Bucket: {Type: AWS::S3::Bucket}\n"
    "  Fn:\n"
    "    Type: AWS::Serverless::Function\n"
    "    Properties:\n"
    "      CodeUri: /tmp\n"
    "      Handler: app.handler\n"
    "      MemorySize: 256\n"
    "      Environment:\n"
    "        Variables:\n"
    "          SHARED: mine\n"
    "          SUB: !Sub '${AWS::Region}/${Stage}/${Bucket.Arn}/${!Literal}'\n"
    "          IF: !If [IsProd, p, d]\n"
    "          JOIN: !Join ['-', [a, !Ref Stage, !Select [1, !Split [',', 'x,y,z']]]]\n"
    "          LONG: {'Fn::Sub': ['${X}!', {X: !Ref Bucket}]}\n"
    "      Events:\n"
    "        A: {Type: HttpApi, Properties: {Method: get, Path: '/a/{id}'}}\n"
    "        B: {Type: Api, Properties: {Method: POST, Path: /b}}\n"
    "        C: {Type: SQS, Properties: {Queue: q}}\n";

START_TEST(template_functions_and_intrinsics)
{
    char *path = write_template(TEMPLATE), err[1024] = "";
    json_t *params = json_object();
    sam_template t;
    sam_template_options o = {.parameters = params, .region = "eu-north-1"};
    ck_assert_msg(sam_template_load(&t, path, &o, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(t.n, 1);
    sam_function *f = sam_template_find(&t, "Fn");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->handler, "app.handler");
    ck_assert_str_eq(f->code_dir, "/tmp");
    ck_assert(f->timeout == 9.0);
    ck_assert_int_eq(f->memory_mb, 256);
    ck_assert_str_eq(json_string_value(json_object_get(f->env, "G")), "global");
    ck_assert_str_eq(json_string_value(json_object_get(f->env, "SHARED")), "mine");
    ck_assert_str_eq(json_string_value(json_object_get(f->env, "SUB")),
                     "eu-north-1/dev/arn:aws:local:eu-north-1:123456789012:Bucket/${Literal}");
    ck_assert_str_eq(json_string_value(json_object_get(f->env, "IF")), "d");
    ck_assert_str_eq(json_string_value(json_object_get(f->env, "JOIN")), "a-dev-y");
    ck_assert_str_eq(json_string_value(json_object_get(f->env, "LONG")), "Bucket!");
    ck_assert_uint_eq(f->n_routes, 2);
    ck_assert_str_eq(f->routes[0].method, "GET");
    ck_assert_str_eq(f->routes[0].path, "/a/{id}");
    ck_assert_int_eq(f->routes[0].payload_v2, 1);
    ck_assert_int_eq(f->routes[1].kind, SAM_ROUTE_REST_API);
    sam_template_free(&t);

    json_object_set_new(params, "Stage", json_string("prod"));
    ck_assert_msg(sam_template_load(&t, path, &o, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(json_string_value(json_object_get(t.fns[0].env, "IF")), "p");
    sam_template_free(&t);
    json_decref(params);
    unlink(path);
}
END_TEST

/* Each bad template fails with its line and the words that say what is wrong. */
START_TEST(template_errors_name_the_line)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: /tmp\n"
         "      Handler: !GetAZs x\n",
         ":6: Fn::GetAZs is not supported"},
        {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: /tmp\n"
         "      Handler: h.h\n      Timeout: !Ref Nope\n",
         ":7: !Ref Nope: no parameter"},
        {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: /tmp\n"
         "      Handler: h.h\n      Timeout: lots\n",
         ":7: Timeout must be a number"},
        {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: /tmp\n"
         "      Handler: h.h\n      Runtime: nodejs20.x\n",
         ":7: function F: Runtime nodejs20.x is not Python"},
        {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: /nonexistent-dir\n"
         "      Handler: h.h\n",
         ":5: CodeUri /nonexistent-dir is not a folder"},
        {"Resources:\n  F: &a\n    Type: x\n  G: *a\n", ":4: YAML aliases"},
        {"Resources: [\n", ":2: "},
        {"Resources:\n  T: {Type: AWS::DynamoDB::Table}\n", "no AWS::Serverless::Function"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = write_template(cases[i].yaml), err[1024] = "";
        sam_template t;
        sam_template_options o = {.region = "us-east-1"};
        ck_assert_int_eq(sam_template_load(&t, path, &o, err, sizeof err), -1);
        ck_assert_msg(strstr(err, cases[i].want) != NULL, "case %zu: %s", i, err);
        unlink(path);
    }
}
END_TEST

START_TEST(parameter_override_forms)
{
    json_t *o = json_object();
    char err[256];
    ck_assert_int_eq(sam_parse_parameter_override(o, "A=1=2", err, sizeof err), 0);
    ck_assert_int_eq(sam_parse_parameter_override(o, "ParameterKey=B,ParameterValue=x,y", err, sizeof err), 0);
    ck_assert_int_eq(sam_parse_parameter_override(o, "novalue", err, sizeof err), -1);
    ck_assert_str_eq(json_string_value(json_object_get(o, "A")), "1=2");
    ck_assert_str_eq(json_string_value(json_object_get(o, "B")), "x,y");
    json_decref(o);
}
END_TEST

static const char *const headers[] = {"Host", "h:1", "X-A", "one", "x-a", "two", "Cookie", "a=1; b=2", NULL};
static const char *const query[] = {"q", "1", "q", "2", "flag", NULL, NULL};
static const char *const params[] = {"id", "42", NULL};
static const char *const none[] = {NULL};

START_TEST(event_v2_and_v1)
{
    sam_apigw_request r = {.method = "GET", .path = "/a/42", .raw_path = "/a/42", .raw_query = "q=1&q=2&flag",
                           .route_path = "/a/{id}", .route_method = "ANY", .source_ip = "127.0.0.1",
                           .request_id = "rid", .stage = "$default", .headers = headers, .query = query,
                           .params = params, .body = "\xff\x00", .body_len = 2, .binary = 1, .v2 = 1,
                           .epoch_ms = 1e12};
    json_t *ev = sam_apigw_event(&r);
    char *text = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_ptr_nonnull(strstr(text, "\"routeKey\":\"ANY /a/{id}\""));
    ck_assert_ptr_nonnull(strstr(text, "\"x-a\":\"one,two\""));
    ck_assert_ptr_nonnull(strstr(text, "\"cookies\":[\"a=1\",\"b=2\"]"));
    ck_assert_ptr_null(strstr(text, "\"cookie\""));
    ck_assert_ptr_nonnull(strstr(text, "\"queryStringParameters\":{\"flag\":\"\",\"q\":\"1,2\"}"));
    ck_assert_ptr_nonnull(strstr(text, "\"body\":\"/wA=\""));
    ck_assert_ptr_nonnull(strstr(text, "\"isBase64Encoded\":true"));
    ck_assert_ptr_nonnull(strstr(text, "\"pathParameters\":{\"id\":\"42\"}"));
    free(text);
    json_decref(ev);

    r.v2 = 0, r.binary = 0, r.body_len = 0, r.stage = "Prod", r.params = none;
    ev = sam_apigw_event(&r);
    text = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_ptr_nonnull(strstr(text, "\"multiValueHeaders\":{\"Cookie\":[\"a=1; b=2\"],\"Host\":[\"h:1\"],"
                                       "\"X-A\":[\"one\"],\"x-a\":[\"two\"]}"));
    ck_assert_ptr_nonnull(strstr(text, "\"multiValueQueryStringParameters\":{\"flag\":[\"\"],\"q\":[\"1\",\"2\"]}"));
    ck_assert_ptr_nonnull(strstr(text, "\"queryStringParameters\":{\"flag\":\"\",\"q\":\"2\"}"));
    ck_assert_ptr_nonnull(strstr(text, "\"body\":null"));
    ck_assert_ptr_nonnull(strstr(text, "\"pathParameters\":null"));
    ck_assert_ptr_nonnull(strstr(text, "\"path\":\"/Prod/a/42\""));
    free(text);
    json_decref(ev);
}
END_TEST

static const char *header_of(const sam_apigw_response *r, const char *name, int nth)
{
    for (size_t i = 0; r->headers && r->headers[i]; i += 2)
        if (strcasecmp(r->headers[i], name) == 0 && nth-- == 0)
            return r->headers[i + 1];
    return NULL;
}

START_TEST(responses)
{
    static const struct {
        const char *result;
        int is_error, v2;
        unsigned status;
        const char *body;
    } cases[] = {
        {"{\"a\": 1}", 0, 1, 200, "{\"a\": 1}"},
        {"\"words\"", 0, 1, 200, "words"},
        {"[1]", 0, 1, 200, "[1]"},
        {"{\"statusCode\": 204}", 0, 1, 204, ""},
        {"{\"statusCode\": \"201\", \"body\": \"x\"}", 0, 1, 201, "x"},
        {"{\"statusCode\": 200, \"body\": \"AAE=\", \"isBase64Encoded\": true}", 0, 1, 200, "\x00\x01"},
        {"{\"statusCode\": 700}", 0, 1, 500, "{\"message\":\"Internal Server Error\"}"},
        {"{\"statusCode\": 200, \"body\": {}}", 0, 1, 500, "{\"message\":\"Internal Server Error\"}"},
        {"{\"errorMessage\": \"x\"}", 1, 1, 500, "{\"message\":\"Internal Server Error\"}"},
        {"{\"a\": 1}", 0, 0, 502, "{\"message\": \"Internal server error\"}"},
        {"\"words\"", 0, 0, 502, "{\"message\": \"Internal server error\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sam_apigw_response r;
        sam_apigw_response_of(cases[i].result, strlen(cases[i].result), cases[i].is_error, cases[i].v2, &r);
        ck_assert_msg(r.status == cases[i].status, "case %zu: status %u", i, r.status);
        ck_assert_bytes(r.body.data ? r.body.data : "", r.body.len, cases[i].body,
                        i == 5 ? 2 : strlen(cases[i].body));
        sam_apigw_response_free(&r);
    }
    const char *res = "{\"statusCode\": 200, \"headers\": {\"x-n\": 5, \"content-length\": \"9\"}, "
                      "\"multiValueHeaders\": {\"x-m\": [\"1\", \"2\"]}, \"cookies\": [\"a=1\", \"b=2\"]}";
    sam_apigw_response r;
    sam_apigw_response_of(res, strlen(res), 0, 1, &r);
    ck_assert_str_eq(header_of(&r, "x-n", 0), "5");
    ck_assert_ptr_null(header_of(&r, "content-length", 0));
    ck_assert_str_eq(header_of(&r, "x-m", 1), "2");
    ck_assert_str_eq(header_of(&r, "set-cookie", 0), "a=1");
    ck_assert_str_eq(header_of(&r, "set-cookie", 1), "b=2");
    sam_apigw_response_free(&r);
}
END_TEST

START_TEST(text_or_binary)
{
    ck_assert_int_eq(sam_apigw_is_text("application/json; charset=utf-8", "x", 1), 1);
    ck_assert_int_eq(sam_apigw_is_text("text/html", "x", 1), 1);
    ck_assert_int_eq(sam_apigw_is_text("application/vnd.api+json", "x", 1), 1);
    ck_assert_int_eq(sam_apigw_is_text("image/png", "x", 1), 0);
    ck_assert_int_eq(sam_apigw_is_text(NULL, "plain", 5), 1);
    ck_assert_int_eq(sam_apigw_is_text(NULL, "\xff\xfe", 2), 0);
}
END_TEST

static Suite *sam_suite(void)
{
    Suite *s = suite_create("sam");
    TCase *tc = tcase_create("sam");
    tcase_add_test(tc, b64_round_trip);
    tcase_add_test(tc, template_functions_and_intrinsics);
    tcase_add_test(tc, template_errors_name_the_line);
    tcase_add_test(tc, parameter_override_forms);
    tcase_add_test(tc, event_v2_and_v1);
    tcase_add_test(tc, responses);
    tcase_add_test(tc, text_or_binary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(sam_suite());
}
