/* sam_events: `host local generate-event`: sample trigger events from templates. */
#include "sam_events.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <zlib.h>

#include "buf.h"
#include "sam_b64.h"

#define MAX_FIELDS 8
#define GZIP_WINDOW (15 + 16) /* zlib: a gzip header, as CloudWatch Logs sends */

typedef struct {
    const char *name, *value;
} field;

/* A template is JSON with placeholders: "${name}" is a field's text (JSON-escaped inside
 * the template's quotes), ${name|raw} its JSON value, ${name|b64} its base64; ${@uuid},
 * ${@now} (ISO 8601), ${@epoch_ms} and ${@cwlogs} (the CloudWatch Logs payload, gzipped
 * and base64) are made up per run. */
typedef struct {
    const char *service, *event, *about, *tmpl;
    field fields[MAX_FIELDS];
} sample;

static const char http_v2[] =
    "{\"version\":\"2.0\",\"routeKey\":\"$default\",\"rawPath\":\"${path}\","
    "\"rawQueryString\":\"parameter1=value1&parameter1=value2&parameter2=value\","
    "\"cookies\":[\"cookie1\",\"cookie2\"],\"headers\":{\"header1\":\"value1\",\"header2\":\"value1,value2\"},"
    "\"queryStringParameters\":{\"parameter1\":\"value1,value2\",\"parameter2\":\"value\"},"
    "\"requestContext\":{\"accountId\":\"${account}\",\"apiId\":\"api-id\",\"domainName\":\"id.execute-api.${region}.amazonaws.com\","
    "\"domainPrefix\":\"id\",\"http\":{\"method\":\"${method}\",\"path\":\"${path}\",\"protocol\":\"HTTP/1.1\","
    "\"sourceIp\":\"192.168.0.1\",\"userAgent\":\"agent\"},\"requestId\":\"${@uuid}\",\"routeKey\":\"$default\","
    "\"stage\":\"${stage}\",\"time\":\"12/Mar/2020:19:03:58 +0000\",\"timeEpoch\":1583348638390},"
    "\"body\":\"${body}\",\"pathParameters\":{\"parameter1\":\"value1\"},\"isBase64Encoded\":false,"
    "\"stageVariables\":{\"stageVariable1\":\"value1\",\"stageVariable2\":\"value2\"}}";

static const char rest_v1[] =
    "{\"body\":\"${body}\",\"resource\":\"${resource}\",\"path\":\"${path}\",\"httpMethod\":\"${method}\","
    "\"isBase64Encoded\":false,\"queryStringParameters\":{\"foo\":\"bar\"},"
    "\"multiValueQueryStringParameters\":{\"foo\":[\"bar\"]},\"pathParameters\":{\"proxy\":\"${path}\"},"
    "\"stageVariables\":{\"baz\":\"qux\"},\"headers\":{\"Accept\":\"text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8\","
    "\"Accept-Encoding\":\"gzip, deflate, sdch\",\"Accept-Language\":\"en-US,en;q=0.8\",\"Cache-Control\":\"max-age=0\","
    "\"Host\":\"1234567890.execute-api.${region}.amazonaws.com\",\"User-Agent\":\"Custom User Agent String\","
    "\"X-Forwarded-For\":\"127.0.0.1, 127.0.0.2\",\"X-Forwarded-Port\":\"443\",\"X-Forwarded-Proto\":\"https\"},"
    "\"multiValueHeaders\":{\"Host\":[\"1234567890.execute-api.${region}.amazonaws.com\"],"
    "\"User-Agent\":[\"Custom User Agent String\"],\"X-Forwarded-Port\":[\"443\"],\"X-Forwarded-Proto\":[\"https\"]},"
    "\"requestContext\":{\"accountId\":\"${account}\",\"resourceId\":\"123456\",\"stage\":\"${stage}\","
    "\"requestId\":\"${@uuid}\",\"requestTime\":\"09/Apr/2015:12:34:56 +0000\",\"requestTimeEpoch\":1428582896000,"
    "\"identity\":{\"cognitoIdentityPoolId\":null,\"accountId\":null,\"cognitoIdentityId\":null,\"caller\":null,"
    "\"accessKey\":null,\"sourceIp\":\"127.0.0.1\",\"cognitoAuthenticationType\":null,\"cognitoAuthenticationProvider\":null,"
    "\"userArn\":null,\"userAgent\":\"Custom User Agent String\",\"user\":null},\"path\":\"/${stage}${path}\","
    "\"resourcePath\":\"${resource}\",\"httpMethod\":\"${method}\",\"apiId\":\"1234567890\",\"protocol\":\"HTTP/1.1\"}}";

static const char sqs[] =
    "{\"Records\":[{\"messageId\":\"${@uuid}\",\"receiptHandle\":\"MessageReceiptHandle\",\"body\":\"${body}\","
    "\"attributes\":{\"ApproximateReceiveCount\":\"1\",\"SentTimestamp\":\"${@epoch_ms}\",\"SenderId\":\"${account}\","
    "\"ApproximateFirstReceiveTimestamp\":\"${@epoch_ms}\"},\"messageAttributes\":{},"
    "\"md5OfBody\":\"7b270e59b47ff90a553787216d55d91d\",\"eventSource\":\"aws:sqs\","
    "\"eventSourceARN\":\"arn:${partition}:sqs:${region}:${account}:${queue}\",\"awsRegion\":\"${region}\"}]}";

static const char sns[] =
    "{\"Records\":[{\"EventVersion\":\"1.0\",\"EventSubscriptionArn\":\"arn:${partition}:sns:${region}:${account}:${topic}:${@uuid}\","
    "\"EventSource\":\"aws:sns\",\"Sns\":{\"SignatureVersion\":\"1\",\"Timestamp\":\"${@now}\",\"Signature\":\"EXAMPLE\","
    "\"SigningCertUrl\":\"EXAMPLE\",\"MessageId\":\"${@uuid}\",\"Message\":\"${message}\","
    "\"MessageAttributes\":{\"Test\":{\"Type\":\"String\",\"Value\":\"TestString\"}},\"Type\":\"Notification\","
    "\"UnsubscribeUrl\":\"EXAMPLE\",\"TopicArn\":\"arn:${partition}:sns:${region}:${account}:${topic}\",\"Subject\":\"${subject}\"}}]}";

static const char s3_put[] =
    "{\"Records\":[{\"eventVersion\":\"2.0\",\"eventSource\":\"aws:s3\",\"awsRegion\":\"${region}\","
    "\"eventTime\":\"${@now}\",\"eventName\":\"ObjectCreated:Put\",\"userIdentity\":{\"principalId\":\"EXAMPLE\"},"
    "\"requestParameters\":{\"sourceIPAddress\":\"127.0.0.1\"},\"responseElements\":{\"x-amz-request-id\":\"EXAMPLE123456789\","
    "\"x-amz-id-2\":\"EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH\"},\"s3\":{\"s3SchemaVersion\":\"1.0\","
    "\"configurationId\":\"testConfigRule\",\"bucket\":{\"name\":\"${bucket}\",\"ownerIdentity\":{\"principalId\":\"EXAMPLE\"},"
    "\"arn\":\"arn:${partition}:s3:::${bucket}\"},\"object\":{\"key\":\"${key}\",\"size\":${size|raw},"
    "\"eTag\":\"0123456789abcdef0123456789abcdef\",\"sequencer\":\"0A1B2C3D4E5F678901\"}}}]}";

static const char dynamodb_update[] =
    "{\"Records\":[{\"eventID\":\"1\",\"eventVersion\":\"1.0\",\"dynamodb\":{\"Keys\":{\"Id\":{\"N\":\"101\"}},"
    "\"NewImage\":{\"Message\":{\"S\":\"New item!\"},\"Id\":{\"N\":\"101\"}},\"StreamViewType\":\"NEW_AND_OLD_IMAGES\","
    "\"SequenceNumber\":\"111\",\"SizeBytes\":26},\"awsRegion\":\"${region}\",\"eventName\":\"INSERT\","
    "\"eventSourceARN\":\"arn:${partition}:dynamodb:${region}:${account}:table/${table}/stream/2015-06-27T00:48:05.899\","
    "\"eventSource\":\"aws:dynamodb\"},"
    "{\"eventID\":\"2\",\"eventVersion\":\"1.0\",\"dynamodb\":{\"OldImage\":{\"Message\":{\"S\":\"New item!\"},\"Id\":{\"N\":\"101\"}},"
    "\"SequenceNumber\":\"222\",\"Keys\":{\"Id\":{\"N\":\"101\"}},\"SizeBytes\":59,"
    "\"NewImage\":{\"Message\":{\"S\":\"This item has changed\"},\"Id\":{\"N\":\"101\"}},\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},"
    "\"awsRegion\":\"${region}\",\"eventName\":\"MODIFY\","
    "\"eventSourceARN\":\"arn:${partition}:dynamodb:${region}:${account}:table/${table}/stream/2015-06-27T00:48:05.899\","
    "\"eventSource\":\"aws:dynamodb\"},"
    "{\"eventID\":\"3\",\"eventVersion\":\"1.0\",\"dynamodb\":{\"Keys\":{\"Id\":{\"N\":\"101\"}},\"SizeBytes\":38,"
    "\"SequenceNumber\":\"333\",\"OldImage\":{\"Message\":{\"S\":\"This item has changed\"},\"Id\":{\"N\":\"101\"}},"
    "\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},\"awsRegion\":\"${region}\",\"eventName\":\"REMOVE\","
    "\"eventSourceARN\":\"arn:${partition}:dynamodb:${region}:${account}:table/${table}/stream/2015-06-27T00:48:05.899\","
    "\"eventSource\":\"aws:dynamodb\"}]}";

static const char kinesis[] =
    "{\"Records\":[{\"kinesis\":{\"kinesisSchemaVersion\":\"1.0\",\"partitionKey\":\"${partition-key}\","
    "\"sequenceNumber\":\"${sequence}\",\"data\":\"${data|b64}\",\"approximateArrivalTimestamp\":1545084650.987},"
    "\"eventSource\":\"aws:kinesis\",\"eventVersion\":\"1.0\",\"eventID\":\"shardId-000000000006:${sequence}\","
    "\"eventName\":\"aws:kinesis:record\",\"invokeIdentityArn\":\"arn:${partition}:iam::${account}:role/lambda-role\","
    "\"awsRegion\":\"${region}\",\"eventSourceARN\":\"arn:${partition}:kinesis:${region}:${account}:stream/${stream}\"}]}";

static const char cw_logs[] = "{\"awslogs\":{\"data\":\"${@cwlogs}\"}}";

static const char cw_logs_inner[] =
    "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"${account}\",\"logGroup\":\"${log-group}\","
    "\"logStream\":\"${log-stream}\",\"subscriptionFilters\":[\"testFilter\"],"
    "\"logEvents\":[{\"id\":\"eventId1\",\"timestamp\":${@epoch_ms_number},\"message\":\"${message}\"}]}";

static const char scheduled[] =
    "{\"version\":\"0\",\"account\":\"${account}\",\"region\":\"${region}\",\"detail\":{},"
    "\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\",\"time\":\"${@now}\",\"id\":\"${@uuid}\","
    "\"resources\":[\"arn:${partition}:events:${region}:${account}:rule/${rule}\"]}";

static const char eventbridge[] =
    "{\"version\":\"0\",\"id\":\"${@uuid}\",\"detail-type\":\"${detail-type}\",\"source\":\"${source}\","
    "\"account\":\"${account}\",\"time\":\"${@now}\",\"region\":\"${region}\",\"resources\":[],\"detail\":${detail|raw}}";

#define COMMON {"region", "us-east-1"}, {"account", "123456789012"}, {"partition", "aws"}

static const sample samples[] = {
    {"apigateway", "http-api-proxy", "API Gateway HTTP API (payload 2.0)", http_v2,
     {COMMON, {"body", "{\"message\": \"hello world\"}"}, {"path", "/path/to/resource"}, {"method", "POST"}, {"stage", "$default"}}},
    {"apigateway", "aws-proxy", "API Gateway REST API proxy (payload 1.0)", rest_v1,
     {COMMON, {"body", "{\"message\": \"hello world\"}"}, {"path", "/path/to/resource"}, {"method", "POST"}, {"stage", "prod"}, {"resource", "/{proxy+}"}}},
    {"sqs", "receive-message", "SQS messages", sqs, {COMMON, {"body", "Test message."}, {"queue", "my-queue"}}},
    {"sns", "notification", "an SNS notification", sns,
     {COMMON, {"message", "example message"}, {"topic", "sns-lambda"}, {"subject", "example subject"}}},
    {"s3", "put", "an S3 object created (PUT)", s3_put,
     {COMMON, {"bucket", "example-bucket"}, {"key", "test/key"}, {"size", "1024"}}},
    {"dynamodb", "update", "a DynamoDB stream: insert, modify, remove", dynamodb_update, {COMMON, {"table", "ExampleTableWithStream"}}},
    {"kinesis", "get-records", "Kinesis stream records", kinesis,
     {COMMON, {"data", "Hello, this is a test 123."}, {"partition-key", "1"},
      {"sequence", "49590338271490256608559692538361571095921575989136588898"}, {"stream", "lambda-stream"}}},
    {"cloudwatch", "logs", "a CloudWatch Logs subscription", cw_logs,
     {COMMON, {"log-group", "testLogGroup"}, {"log-stream", "testLogStream"}, {"message", "[ERROR] First test message"}}},
    {"cloudwatch", "scheduled-event", "an EventBridge (CloudWatch Events) schedule", scheduled, {COMMON, {"rule", "my-schedule"}}},
    {"eventbridge", "event", "an EventBridge event (not a SAM name: SAM has none)", eventbridge,
     {COMMON, {"source", "com.example.app"}, {"detail-type", "Order Placed"}, {"detail", "{\"order_id\": \"o-1\"}"}}},
};

#define N_SAMPLES (sizeof samples / sizeof samples[0])

static const char *field_value(const sample *s, const field *given, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(given[i].name, name) == 0)
            return given[i].value;
    for (int i = 0; i < MAX_FIELDS && s->fields[i].name; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return s->fields[i].value;
    return NULL;
}

/* The text of a JSON string without its quotes. */
static int append_escaped(buf_t *out, const char *v)
{
    json_t *s = json_string(v);
    char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    json_decref(s);
    if (!text)
        return -1;
    int rc = buf_append(out, text + 1, strlen(text) - 2);
    free(text);
    return rc;
}

static int gzip_b64(buf_t *out, const char *data, size_t len)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong cap = deflateBound(&z, (uLong)len);
    unsigned char *gz = malloc(cap);
    int rc = -1;
    if (gz) {
        z.next_in = (Bytef *)data;
        z.avail_in = (uInt)len;
        z.next_out = gz;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) == Z_STREAM_END)
            rc = sam_b64_encode(out, gz, z.total_out);
    }
    deflateEnd(&z);
    free(gz);
    return rc;
}

static int expand(const sample *s, const char *tmpl, const field *given, size_t n, buf_t *out);

static int special(const sample *s, const char *name, const field *given, size_t n, buf_t *out)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (strcmp(name, "@uuid") == 0) {
        unsigned char b[16];
        if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
            memset(b, 0x5a, sizeof b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        return buf_printf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                          b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    }
    if (strcmp(name, "@now") == 0) {
        char t[32];
        struct tm tm;
        gmtime_r(&now.tv_sec, &tm);
        strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
        return buf_printf(out, "%s.%03dZ", t, (int)(now.tv_nsec / 1000000));
    }
    if (strcmp(name, "@epoch_ms") == 0 || strcmp(name, "@epoch_ms_number") == 0)
        return buf_printf(out, "%lld", ms);
    if (strcmp(name, "@cwlogs") == 0) {
        buf_t inner = BUF_INIT;
        int rc = expand(s, cw_logs_inner, given, n, &inner);
        if (rc == 0)
            rc = gzip_b64(out, inner.data, inner.len);
        buf_free(&inner);
        return rc;
    }
    return -1;
}

static int placeholder(const sample *s, const char *ph, const field *given, size_t n, buf_t *out)
{
    if (ph[0] == '@')
        return special(s, ph, given, n, out);
    char name[64];
    const char *bar = strchr(ph, '|');
    snprintf(name, sizeof name, "%.*s", (int)(bar ? (size_t)(bar - ph) : strlen(ph)), ph);
    const char *v = field_value(s, given, n, name);
    if (!v)
        return -1;
    if (!bar)
        return append_escaped(out, v);
    if (strcmp(bar, "|b64") == 0)
        return sam_b64_encode(out, v, strlen(v));
    json_error_t err;
    json_t *doc = json_loads(v, JSON_DECODE_ANY, &err);
    if (!doc) {
        fprintf(stderr, "host local: generate-event: --%s must be JSON here: %s\n", name, err.text);
        return -1;
    }
    json_decref(doc);
    return buf_append_str(out, v);
}

static int expand(const sample *s, const char *tmpl, const field *given, size_t n, buf_t *out)
{
    buf_append_str(out, "");
    for (const char *p = tmpl; *p;) {
        const char *open = strstr(p, "${");
        if (!open)
            return buf_append_str(out, p);
        const char *close = strchr(open, '}');
        char ph[96];
        snprintf(ph, sizeof ph, "%.*s", (int)(close - open - 2), open + 2);
        if (buf_append(out, p, (size_t)(open - p)) < 0 || placeholder(s, ph, given, n, out) < 0)
            return -1;
        p = close + 1;
    }
    return 0;
}

static void list(const char *service)
{
    printf(service ? "Events of %s:\n" : "usage: host local generate-event SERVICE EVENT [--FIELD VALUE ...]\n\nServices and events:\n",
           service);
    for (size_t i = 0; i < N_SAMPLES; i++) {
        const sample *s = &samples[i];
        if (service && strcmp(service, s->service) != 0)
            continue;
        printf("  %-12s %-16s %s; fields:", s->service, s->event, s->about);
        for (int k = 0; k < MAX_FIELDS && s->fields[k].name; k++)
            printf(" --%s", s->fields[k].name);
        putchar('\n');
    }
}

static const sample *find(const char *service, const char *event)
{
    for (size_t i = 0; i < N_SAMPLES; i++)
        if (strcmp(samples[i].service, service) == 0 && strcmp(samples[i].event, event) == 0)
            return &samples[i];
    return NULL;
}

static int known_service(const char *service)
{
    for (size_t i = 0; i < N_SAMPLES; i++)
        if (strcmp(samples[i].service, service) == 0)
            return 1;
    return 0;
}

static int parse_fields(const sample *s, int n, char **words, field *given, size_t *ng)
{
    *ng = 0;
    for (int i = 0; i < n; i++) {
        const char *w = words[i];
        if (strncmp(w, "--", 2) != 0 || i + 1 >= n) {
            fprintf(stderr, "host local: generate-event: expected --FIELD VALUE, got '%s'\n", w);
            return -1;
        }
        if (!field_value(s, NULL, 0, w + 2)) {
            fprintf(stderr, "host local: generate-event %s %s has no field %s; its fields:", s->service, s->event, w);
            for (int k = 0; k < MAX_FIELDS && s->fields[k].name; k++)
                fprintf(stderr, " --%s", s->fields[k].name);
            fputc('\n', stderr);
            return -1;
        }
        given[(*ng)++] = (field){w + 2, words[++i]};
    }
    return 0;
}

int sam_generate_event(int n, char **words)
{
    if (n == 0 || (n == 1 && known_service(words[0]))) {
        list(n ? words[0] : NULL);
        return 0;
    }
    const sample *s = n >= 2 ? find(words[0], words[1]) : NULL;
    if (!s) {
        fprintf(stderr, "host local: generate-event: no event '%s%s%s'; run 'host local generate-event' for the list\n",
                words[0], n >= 2 ? " " : "", n >= 2 ? words[1] : "");
        return 2;
    }
    field given[2 * MAX_FIELDS];
    size_t ng = 0;
    if (n - 2 > 2 * MAX_FIELDS * 2 || parse_fields(s, n - 2, words + 2, given, &ng) < 0)
        return 2;
    buf_t out = BUF_INIT;
    int rc = 2;
    json_error_t err;
    json_t *doc = NULL;
    if (expand(s, s->tmpl, given, ng, &out) == 0 && (doc = json_loads(out.data, 0, &err))) {
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) {
            puts(text);
            rc = 0;
        }
        free(text);
    }
    json_decref(doc);
    buf_free(&out);
    return rc;
}
