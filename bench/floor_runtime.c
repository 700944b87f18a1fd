/* floor_runtime: the physical floor of a Runtime API loop. C + libcurl, no Python.
 * GET next -> POST the event body back as the response, forever. One reused easy handle
 * (one keep-alive connection), no proxy, TCP_NODELAY, no "Expect: 100-continue".
 * It is what any runtime that talks to the Runtime API through libcurl pays at least. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct buf {
    char *p;
    size_t len, cap;
};

static char rid[256];

static size_t on_body(char *data, size_t sz, size_t nm, void *ud)
{
    struct buf *b = ud;
    size_t n = sz * nm;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return n;
}

static size_t on_header(char *data, size_t sz, size_t nm, void *ud)
{
    (void)ud;
    size_t n = sz * nm;
    static const char h[] = "Lambda-Runtime-Aws-Request-Id:";
    if (n > sizeof h - 1 && strncasecmp(data, h, sizeof h - 1) == 0) {
        const char *v = data + sizeof h - 1, *e = data + n;
        while (v < e && *v == ' ')
            v++;
        while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
            e--;
        size_t l = (size_t)(e - v) < sizeof rid - 1 ? (size_t)(e - v) : sizeof rid - 1;
        memcpy(rid, v, l);
        rid[l] = 0;
    }
    return n;
}

static size_t discard(char *data, size_t sz, size_t nm, void *ud)
{
    (void)data;
    (void)ud;
    return sz * nm;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) {
        fprintf(stderr, "floor_runtime: AWS_LAMBDA_RUNTIME_API is not set\n");
        return 1;
    }
    char next_url[512], resp_url[1024];
    snprintf(next_url, sizeof next_url, "http://%s/2018-06-01/runtime/invocation/next", api);

    curl_global_init(CURL_GLOBAL_NOTHING);
    CURL *h = curl_easy_init();
    struct buf body = {0};
    struct curl_slist *post_hdrs = NULL;
    post_hdrs = curl_slist_append(post_hdrs, "Expect:");
    post_hdrs = curl_slist_append(post_hdrs, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 1L);

    for (;;) {
        body.len = 0;
        rid[0] = 0;
        curl_easy_setopt(h, CURLOPT_URL, next_url);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200 || !rid[0]) {
            fprintf(stderr, "floor_runtime: next failed: %s, status %ld\n", curl_easy_strerror(rc), status);
            return 1;
        }
        snprintf(resp_url, sizeof resp_url, "http://%s/2018-06-01/runtime/invocation/%s/response", api, rid);
        curl_easy_setopt(h, CURLOPT_URL, resp_url);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.p ? body.p : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, post_hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, discard);
        rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
            fprintf(stderr, "floor_runtime: response failed: %s\n", curl_easy_strerror(rc));
            return 1;
        }
    }
}
