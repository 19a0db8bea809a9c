/* Why: see sim_record.h. The in-memory log stops growing at MAX_RECORDS (a long benchmark would
 * otherwise fill memory); the file has every request. */
#include "sim_record.h"

#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "sg_time.h"
#include "sim_http.h"

#define MAX_RECORDS 200000

static FILE *record_file;
static struct json_object *records; /* array */

bool sim_record_start(const char *path)
{
    if (path && !(record_file = fopen(path, "a")))
        return false;
    records = json_object_new_array();
    return true;
}

void sim_record_request(struct sim_rq *r, int status)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "ts_ms", json_object_new_int64(sg_now_ms()));
    json_object_object_add(o, "method", json_object_new_string(r->method));
    json_object_object_add(o, "path", json_object_new_string(r->path));
    json_object_object_add(o, "query", r->query ? json_object_new_string(r->query) : NULL);
    json_object_object_add(o, "status", json_object_new_int(status));
    struct json_object *h = json_object_new_object();
    static const char *names[] = {"Host", "User-Agent", "Accept", "X-GitHub-Api-Version",
                                  "Content-Type"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = evhttp_find_header(in, names[i]);
        json_object_object_add(h, names[i], v ? json_object_new_string(v) : NULL);
    }
    /* the credential itself is never recorded: only its scheme and kind */
    const char *auth = evhttp_find_header(in, "Authorization");
    char kind[64] = "";
    if (auth) {
        const char *sp = strchr(auth, ' ');
        size_t sl = sp ? (size_t)(sp - auth) : strlen(auth);
        const char *cred = sp ? sp + 1 : "";
        const char *what = !strncmp(cred, "ghs_", 4) ? "installation-token"
                           : strchr(cred, '.')       ? "jwt"
                                                     : "other";
        snprintf(kind, sizeof kind, "%.*s %s", (int)(sl > 20 ? 20 : sl), auth, what);
    }
    json_object_object_add(h, "Authorization", auth ? json_object_new_string(kind) : NULL);
    json_object_object_add(o, "headers", h);
    json_object_object_add(o, "body", r->body ? json_object_get(r->body) : NULL);
    if (record_file) {
        fprintf(record_file, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        fflush(record_file);
    }
    if (json_object_array_length(records) < MAX_RECORDS)
        json_object_array_add(records, o);
    else
        json_object_put(o);
}

struct json_object *sim_record_requests(void)
{
    return json_object_get(records);
}

void sim_record_clear(void)
{
    json_object_put(records);
    records = json_object_new_array();
}

void sim_record_free(void)
{
    if (record_file)
        fclose(record_file);
    json_object_put(records);
}
