/* Why: the simulator's compare of two commits (GET /repos/{o}/{r}/compare/{base}...{head}), made
 * from the trees a test keeps per commit, so the worker's rename handling meets GitHub's answer:
 * `renamed` with `previous_filename` when a file's bytes moved to another path (git's exact-rename
 * case), and at most 300 files, as GitHub truncates. */
#include "sim_compare.h"

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_file {
    char *path;
    unsigned char *data;
    size_t len;
    bool matched;
};

struct sim_tree {
    struct sim_file *v;
    size_t n, cap;
    size_t root_len;
};

static struct sim_tree *walking; /* nftw has no user pointer; the simulator is single-threaded */

static int sim_visit(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type != FTW_F || !S_ISREG(st->st_mode))
        return 0;
    struct sim_tree *t = walking;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        struct sim_file *nv = realloc(t->v, t->cap * sizeof *nv);
        if (!nv)
            return -1;
        t->v = nv;
    }
    FILE *f = fopen(p, "rb");
    if (!f)
        return -1;
    struct sim_file *x = &t->v[t->n];
    memset(x, 0, sizeof *x);
    x->path = strdup(p + t->root_len + 1);
    x->data = malloc((size_t)st->st_size + 1);
    x->len = x->data ? fread(x->data, 1, (size_t)st->st_size, f) : 0;
    fclose(f);
    if (!x->path || !x->data)
        return -1;
    t->n++;
    return 0;
}

static void sim_tree_free(struct sim_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].path);
        free(t->v[i].data);
    }
    free(t->v);
}

static bool sim_tree_read(const char *dir, struct sim_tree *t)
{
    memset(t, 0, sizeof *t);
    t->root_len = strlen(dir);
    walking = t;
    return nftw(dir, sim_visit, 16, FTW_PHYS) == 0;
}

static struct sim_file *sim_find(struct sim_tree *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].path, path))
            return &t->v[i];
    return NULL;
}

static void sim_add(struct json_object *files, const char *name, const char *status,
                    const char *previous, size_t max)
{
    if (json_object_array_length(files) >= max)
        return;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "sha",
                           json_object_new_string("0000000000000000000000000000000000000000"));
    json_object_object_add(o, "filename", json_object_new_string(name));
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "additions", json_object_new_int(0));
    json_object_object_add(o, "deletions", json_object_new_int(0));
    json_object_object_add(o, "changes", json_object_new_int(0));
    json_object_object_add(o, "blob_url", json_object_new_string("https://github.com/"));
    json_object_object_add(o, "raw_url", json_object_new_string("https://github.com/"));
    json_object_object_add(o, "contents_url", json_object_new_string("https://api.github.com/"));
    if (previous)
        json_object_object_add(o, "previous_filename", json_object_new_string(previous));
    json_object_array_add(files, o);
}

struct json_object *sim_compare_files(const char *base_dir, const char *head_dir, size_t max)
{
    struct sim_tree b, h;
    struct json_object *files = NULL;
    bool ok_b = sim_tree_read(base_dir, &b), ok_h = sim_tree_read(head_dir, &h);
    if (!ok_b || !ok_h)
        goto out;
    files = json_object_new_array();
    for (size_t i = 0; i < h.n; i++) {
        struct sim_file *x = &h.v[i], *old = sim_find(&b, x->path);
        if (old) {
            old->matched = true;
            if (old->len != x->len || memcmp(old->data, x->data, x->len))
                sim_add(files, x->path, "modified", NULL, max);
            continue;
        }
        struct sim_file *from = NULL; /* the same bytes at a path the head no longer has */
        for (size_t j = 0; j < b.n && !from; j++)
            if (!b.v[j].matched && !sim_find(&h, b.v[j].path) && b.v[j].len == x->len &&
                !memcmp(b.v[j].data, x->data, x->len))
                from = &b.v[j];
        if (from) {
            from->matched = true;
            sim_add(files, x->path, "renamed", from->path, max);
        } else {
            sim_add(files, x->path, "added", NULL, max);
        }
    }
    for (size_t j = 0; j < b.n; j++)
        if (!b.v[j].matched)
            sim_add(files, b.v[j].path, "removed", NULL, max);
out:
    sim_tree_free(&b);
    sim_tree_free(&h);
    return files;
}

/* A commit object as GitHub's compare answer nests it (base_commit, merge_base_commit). */
static struct json_object *sim_commit(const char *api, const char *full, const char *sha)
{
    char u[1024];
    struct json_object *c = json_object_new_object(), *inner = json_object_new_object(),
                       *tree = json_object_new_object(), *who = json_object_new_object();
    snprintf(u, sizeof u, "%s/repos/%s/commits/%s", api, full, sha);
    json_object_object_add(c, "url", json_object_new_string(u));
    json_object_object_add(c, "sha", json_object_new_string(sha));
    json_object_object_add(c, "node_id", json_object_new_string("C_sim"));
    snprintf(u, sizeof u, "https://github.com/%s/commit/%s", full, sha);
    json_object_object_add(c, "html_url", json_object_new_string(u));
    snprintf(u, sizeof u, "%s/repos/%s/commits/%s/comments", api, full, sha);
    json_object_object_add(c, "comments_url", json_object_new_string(u));
    json_object_object_add(who, "name", json_object_new_string("octocat"));
    json_object_object_add(who, "email", json_object_new_string("octocat@example.com"));
    json_object_object_add(who, "date", json_object_new_string("2026-01-01T00:00:00Z"));
    json_object_object_add(inner, "author", who);
    json_object_object_add(inner, "committer", json_object_get(who));
    json_object_object_add(inner, "comment_count", json_object_new_int(0));
    json_object_object_add(inner, "message", json_object_new_string("commit"));
    json_object_object_add(tree, "sha", json_object_new_string(sha));
    snprintf(u, sizeof u, "%s/repos/%s/git/trees/%s", api, full, sha);
    json_object_object_add(tree, "url", json_object_new_string(u));
    json_object_object_add(inner, "tree", tree);
    snprintf(u, sizeof u, "%s/repos/%s/git/commits/%s", api, full, sha);
    json_object_object_add(inner, "url", json_object_new_string(u));
    json_object_object_add(c, "commit", inner);
    json_object_object_add(c, "author", NULL);
    json_object_object_add(c, "committer", NULL);
    json_object_object_add(c, "parents", json_object_new_array());
    return c;
}

struct json_object *sim_compare_answer(const char *api, const char *full, const char *base,
                                       const char *head, struct json_object *files)
{
    char u[1024];
    struct json_object *o = json_object_new_object();
    snprintf(u, sizeof u, "%s/repos/%s/compare/%s...%s", api, full, base, head);
    json_object_object_add(o, "url", json_object_new_string(u));
    snprintf(u, sizeof u, "https://github.com/%s/compare/%s...%s", full, base, head);
    json_object_object_add(o, "html_url", json_object_new_string(u));
    json_object_object_add(o, "permalink_url", json_object_new_string(u));
    snprintf(u, sizeof u, "https://github.com/%s/compare/%s...%s.diff", full, base, head);
    json_object_object_add(o, "diff_url", json_object_new_string(u));
    snprintf(u, sizeof u, "https://github.com/%s/compare/%s...%s.patch", full, base, head);
    json_object_object_add(o, "patch_url", json_object_new_string(u));
    json_object_object_add(o, "base_commit", sim_commit(api, full, base));
    json_object_object_add(o, "merge_base_commit", sim_commit(api, full, base));
    json_object_object_add(o, "status", json_object_new_string("ahead"));
    json_object_object_add(o, "ahead_by", json_object_new_int(1));
    json_object_object_add(o, "behind_by", json_object_new_int(0));
    json_object_object_add(o, "total_commits", json_object_new_int(1));
    json_object_object_add(o, "commits", json_object_new_array());
    json_object_object_add(o, "files", files);
    return o;
}
