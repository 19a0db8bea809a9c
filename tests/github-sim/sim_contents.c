/* Why: see sim_contents.h. The same ref always gives the same bytes (sim_tar.c), so the last few
 * tarballs are kept rather than made again for every download. */
#include "sim_contents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "sg_buf.h"
#include "sg_crypto.h"
#include "sim.h"
#include "sim_auth.h"
#include "sim_compare.h"
#include "sim_http.h"
#include "sim_installations.h"
#include "sim_record.h"
#include "sim_tar.h"

struct sim_codeload {
    char token[48];
    char repo[256];
    char sha[128];
    int64_t expires_s;
    size_t truncate_after;
    size_t bytes_per_s;
};

static struct sim_codeload *codeloads; /* in the order issued, so also in expiry order */
static size_t ncodeloads, capcodeloads;

void sim_contents_tarball(struct sim_rq *r, const char *owner, const char *repo, const char *ref)
{
    struct sim_inst *in = sim_auth_token(r);
    if (!in)
        return;
    char full[256];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    if (!sim_installations_has_repo(in, full) || !sim_http_valid_segment(ref)) {
        sim_http_finish_msg(r, 404, "Not Found",
                            SIM_DOCS "/repos/contents#download-a-repository-archive-tar");
        return;
    }
    struct sim_codeload c;
    memset(&c, 0, sizeof c);
    char hex[40];
    if (sg_random_hex(hex, 16) != SG_OK) {
        sim_http_finish_msg(r, 500, "Server Error", SIM_DOCS);
        return;
    }
    snprintf(c.token, sizeof c.token, "%s", hex);
    snprintf(c.repo, sizeof c.repo, "%s", full);
    snprintf(c.sha, sizeof c.sha, "%s", ref);
    c.expires_s = sim_now_s() + 300;
    c.truncate_after = r->has_fault ? r->fault.truncate_after : 0;
    c.bytes_per_s = r->has_fault ? r->fault.bytes_per_s : 0;
    /* Drop the expired ones first: a long benchmark issues one per job and every download
     * searches the list. */
    size_t expired = 0;
    while (expired < ncodeloads && codeloads[expired].expires_s <= sim_now_s())
        expired++;
    if (expired) {
        memmove(codeloads, codeloads + expired, (ncodeloads - expired) * sizeof *codeloads);
        ncodeloads -= expired;
    }
    if (ncodeloads == capcodeloads) {
        capcodeloads = capcodeloads ? 2 * capcodeloads : 64;
        codeloads = sim_xrealloc(codeloads, capcodeloads * sizeof *codeloads);
    }
    codeloads[ncodeloads++] = c;
    char base[300], loc[1024];
    sim_http_self_base(r, base, sizeof base, true);
    snprintf(loc, sizeof loc, "%s/_codeload/%s/legacy.tar.gz/%s?token=%s", base, full, ref,
             c.token);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Location", loc);
    sim_http_finish_raw(r, 302, "text/html;charset=utf-8", "", 0);
}

/* A slow download: the body trickles out in chunks every 100 ms at bytes_per_s. */
struct slow {
    struct sim_rq *r;
    struct sg_buf gz;
    size_t off, per_tick;
    struct event *ev;
};
static struct slow *slows[256];
static size_t nslows;

static void slow_free(struct slow *w)
{
    for (size_t i = 0; i < nslows; i++)
        if (slows[i] == w) {
            slows[i] = slows[--nslows];
            break;
        }
    if (w->ev)
        event_free(w->ev);
    sg_buf_free(&w->gz);
    sim_http_rq_free(w->r);
    free(w);
}

static void slow_tick(evutil_socket_t fd, short what, void *arg)
{
    struct slow *w = arg;
    struct evhttp_request *req = w->r->req;
    if (w->off >= w->gz.len || !evhttp_request_get_connection(req)) {
        evhttp_send_reply_end(req); /* also frees a request whose client went away */
        slow_free(w);
        return;
    }
    size_t n = w->gz.len - w->off < w->per_tick ? w->gz.len - w->off : w->per_tick;
    struct evbuffer *b = evbuffer_new();
    if (b) {
        evbuffer_add(b, w->gz.data + w->off, n);
        evhttp_send_reply_chunk(req, b);
        evbuffer_free(b);
    }
    w->off += n;
    struct timeval tv = {0, 100000};
    evtimer_add(w->ev, &tv);
}

static void slow_start(struct sim_rq *r, struct sg_buf *gz, size_t bytes_per_s)
{
    struct slow *w = sim_xcalloc(1, sizeof *w);
    w->r = r;
    w->gz = *gz; /* takes the buffer */
    sg_buf_init(gz, 0);
    w->per_tick = bytes_per_s / 10 ? bytes_per_s / 10 : 1;
    w->ev = evtimer_new(sim_cfg.base, slow_tick, w);
    if (nslows < sizeof slows / sizeof slows[0])
        slows[nslows++] = w;
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type",
                      "application/x-gzip");
    sim_record_request(r, 200);
    evhttp_send_reply_start(r->req, 200, "OK");
    struct timeval tv = {0, 0};
    evtimer_add(w->ev, &tv);
}

/* A commit's tarball never changes on GitHub, so the last few are kept, keyed by directory and
 * sha (a test that changes the directory uses a new sha). Keeps benchmarks measuring the client
 * rather than the simulator's gzip. */
#define TAR_CACHE           8
#define TAR_CACHE_MAX_BYTES ((size_t)64 << 20)
static struct {
    char key[4300];
    struct sg_buf gz;
} tar_cache[TAR_CACHE];
static size_t tar_cache_next;

static struct sg_buf *tar_cache_get(const char *dir, const char *sha)
{
    char key[4300];
    snprintf(key, sizeof key, "%s\n%s", dir, sha);
    for (size_t i = 0; i < TAR_CACHE; i++)
        if (tar_cache[i].gz.data && !strcmp(tar_cache[i].key, key))
            return &tar_cache[i].gz;
    return NULL;
}

static void tar_cache_put(const char *dir, const char *sha, const struct sg_buf *gz)
{
    if (gz->len > TAR_CACHE_MAX_BYTES)
        return;
    size_t i = tar_cache_next++ % TAR_CACHE;
    sg_buf_free(&tar_cache[i].gz);
    sg_buf_init(&tar_cache[i].gz, TAR_CACHE_MAX_BYTES);
    snprintf(tar_cache[i].key, sizeof tar_cache[i].key, "%s\n%s", dir, sha);
    if (sg_buf_append(&tar_cache[i].gz, gz->data, gz->len) != SG_OK)
        sg_buf_free(&tar_cache[i].gz);
}

/* A commit's tree: its own (DIR/owner/repo@sha) when the test made one, else the repository's;
 * false when there is none. */
static bool commit_dir(const char *owner, const char *repo, const char *sha, char *dir, size_t len)
{
    struct stat st;
    snprintf(dir, len, "%s/%s/%s@%s", sim_cfg.repos_dir ? sim_cfg.repos_dir : "", owner, repo, sha);
    if (!sim_cfg.repos_dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(dir, len, "%s/%s/%s", sim_cfg.repos_dir ? sim_cfg.repos_dir : "", owner, repo);
    return sim_cfg.repos_dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* GET /repos/{o}/{r}/compare/{base}...{head}: the files between two commits' trees, at most 300
 * as GitHub lists (sim_compare.c); commits are not simulated. */
void sim_contents_compare(struct sim_rq *r, const char *owner, const char *repo,
                          const char *basehead)
{
    struct sim_inst *in = sim_auth_token(r);
    if (!in)
        return;
    char full[256], base[128], bdir[4096], hdir[4096];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    const char *dots = strstr(basehead, "...");
    size_t bl = dots ? (size_t)(dots - basehead) : 0;
    if (!sim_installations_has_repo(in, full) || !dots || bl == 0 || bl >= sizeof base ||
        !dots[3]) {
        sim_http_finish_msg(r, 404, "Not Found", SIM_DOCS "/commits/commits#compare-two-commits");
        return;
    }
    memcpy(base, basehead, bl);
    base[bl] = '\0';
    struct json_object *files = NULL;
    if (!commit_dir(owner, repo, base, bdir, sizeof bdir) ||
        !commit_dir(owner, repo, dots + 3, hdir, sizeof hdir) ||
        !(files = sim_compare_files(bdir, hdir, 300))) {
        sim_http_finish_msg(r, 404, "Not Found", SIM_DOCS "/commits/commits#compare-two-commits");
        return;
    }
    char api[300];
    sim_http_self_base(r, api, sizeof api, false);
    sim_http_finish_json(r, 200, sim_compare_answer(api, full, base, dots + 3, files));
}

/* codeload: token in the query only; an Authorization header is refused (it would be a leak). */

void sim_contents_codeload(struct sim_rq *r, const char *owner, const char *repo, const char *sha)
{
    r->rl_remaining = -1;
    if (evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization")) {
        sim_http_finish_raw(r, 400, "text/plain", "Authorization header not accepted here\n", 39);
        return;
    }
    char tok[64], full[256];
    sim_http_query_str(r->query, "token", tok, sizeof tok);
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    struct sim_codeload *c = NULL;
    for (size_t i = ncodeloads; tok[0] && i-- > 0;) /* newest first: usually the last one */
        if (!strcmp(codeloads[i].token, tok) && !strcmp(codeloads[i].repo, full) &&
            !strcmp(codeloads[i].sha, sha) && codeloads[i].expires_s > sim_now_s()) {
            c = &codeloads[i];
            break;
        }
    if (!c) {
        sim_http_finish_raw(r, 404, "text/plain", "404: Not Found", 14);
        return;
    }
    char dir[4096];
    if (!commit_dir(owner, repo, sha, dir, sizeof dir)) {
        sim_http_finish_raw(r, 404, "text/plain", "404: Not Found", 14);
        return;
    }
    struct sg_buf *cached = tar_cache_get(dir, sha);
    struct sg_buf gz;
    sg_buf_init(&gz, (size_t)1 << 30);
    if (cached) {
        if (sg_buf_append(&gz, cached->data, cached->len) != SG_OK) {
            sg_buf_free(&gz);
            sim_http_finish_raw(r, 500, "text/plain", "tarball failed", 14);
            return;
        }
    } else if (sim_tar_gz(dir, owner, repo, sha, &gz) != SG_OK) {
        sg_buf_free(&gz);
        sim_http_finish_raw(r, 500, "text/plain", "tarball failed", 14);
        return;
    } else {
        tar_cache_put(dir, sha, &gz);
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    char cd[512];
    snprintf(cd, sizeof cd, "attachment; filename=%s-%s-%.7s.tar.gz", owner, repo, sha);
    evhttp_add_header(out, "Content-Disposition", cd);
    if (c->bytes_per_s) {
        slow_start(r, &gz, c->bytes_per_s);
        return;
    }
    size_t send_len = gz.len;
    if (c->truncate_after && c->truncate_after < gz.len) {
        /* announce the full length, send less, close: the client sees a cut connection */
        char cl[32];
        snprintf(cl, sizeof cl, "%zu", gz.len);
        evhttp_add_header(out, "Content-Length", cl);
        evhttp_add_header(out, "Connection", "close");
        send_len = c->truncate_after;
    }
    sim_http_finish_raw(r, 200, "application/x-gzip", gz.data, send_len);
    sg_buf_free(&gz);
}

void sim_contents_free(void)
{
    for (size_t i = 0; i < TAR_CACHE; i++)
        sg_buf_free(&tar_cache[i].gz);
    while (nslows)
        slow_free(slows[0]);
    free(codeloads);
    codeloads = NULL;
    ncodeloads = capcodeloads = 0;
}
