/* Blocking HTTP requests from rtadmin to running servers (libcurl), with bounded answers. */
#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"

#define CONNECT_TIMEOUT 5L /* seconds; a live server accepts at once */

/* Keeps at most HTTP_RESPONSE_MAX bytes: a misbehaving server must not exhaust our memory. */
static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct http_response *r = arg;
    size_t n = size * nmemb;
    size_t keep = r->len + n > HTTP_RESPONSE_MAX ? HTTP_RESPONSE_MAX - r->len : n;
    r->body = rt_xrealloc(r->body, r->len + keep + 1);
    memcpy(r->body + r->len, ptr, keep);
    r->len += keep;
    r->body[r->len] = '\0';
    return n;
}

int http_request(const char *method, const char *url, const char *body, long timeout_seconds,
                 struct http_response *r, char *err, size_t err_cap)
{
    memset(r, 0, sizeof *r);
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, err_cap, "cannot initialise libcurl");
        return -1;
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        headers = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                     timeout_seconds < CONNECT_TIMEOUT ? timeout_seconds : CONNECT_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "rtadmin");
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
        snprintf(err, err_cap, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

void http_response_free(struct http_response *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

const char *http_body_line(struct http_response *r)
{
    if (!r->body) return "(empty body)";
    while (r->len > 0 && strchr(" \t\r\n", r->body[r->len - 1]))
        r->body[--r->len] = '\0';
    if (r->len == 0) return "(empty body)";
    for (char *p = r->body; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return r->body;
}
