/* Why: owns the tar format: header checksums and sizes (octal and GNU base-256), pax extended and
 * global records, GNU long names, ustar prefixes, the end-of-archive blocks, and the safety of
 * entry names (relative, no "..", GitHub's top folder removed). Only regular files with safe
 * names reach the sink as files; links, devices and unknown types are never read. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_tar.h"
#include "sg_config.h"

#define AN_META_MAX (1024 * 1024) /* pax records and GNU long names */

enum { AN_TAR_HDR = 0, AN_TAR_DATA, AN_TAR_PAD, AN_TAR_END };
enum { AN_ENT_SKIP = 0, AN_ENT_FILE, AN_ENT_PAX, AN_ENT_PAXG, AN_ENT_LONG };

void an_tar_init(struct an_tar *t, uint32_t max_path_len, const struct an_tar_sink *sink, void *ctx,
                 char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->max_path_len = max_path_len;
    t->sink = sink;
    t->ctx = ctx;
    t->err = err;
    t->errlen = errlen;
}

void an_tar_free(struct an_tar *t)
{
    free(t->meta);
    free(t->pax_path);
    free(t->long_name);
    t->meta = NULL, t->pax_path = t->long_name = NULL;
}

static enum sg_err an_tar_fail(struct an_tar *t, enum sg_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum sg_err an_tar_fail(struct an_tar *t, enum sg_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, t->errlen, fmt, ap);
    va_end(ap);
    return e;
}

static uint64_t an_octal(const unsigned char *p, size_t n, bool *ok)
{
    /* base-256 (GNU) for sizes over 8 GiB: high bit of the first byte set */
    if (p[0] & 0x80) {
        uint64_t v = p[0] & 0x7f;
        for (size_t i = 1; i < n; i++) {
            if (v >> 55) {
                *ok = false;
                return 0;
            }
            v = (v << 8) | p[i];
        }
        return v;
    }
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\0'))
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
        if (v >> 60) {
            *ok = false;
            return 0;
        }
        v = v * 8 + (uint64_t)(p[i] - '0');
    }
    for (; i < n; i++)
        if (p[i] != ' ' && p[i] != '\0')
            *ok = false;
    return v;
}

/* A path is safe when it is relative and has no ".." component. Returns the repository path
 * (one top folder removed) in out, or false. */
static bool an_clean_path(const char *raw, char *out, size_t outlen)
{
    if (raw[0] == '/' || raw[0] == '\0')
        return false;
    /* drop the top folder: everything up to the first '/' (GitHub's "owner-repo-sha/") */
    const char *s = strchr(raw, '/');
    s = s ? s + 1 : raw;
    while (s[0] == '.' && s[1] == '/')
        s += 2;
    size_t n = strlen(s);
    while (n && s[n - 1] == '/')
        n--;
    if (n == 0 || n >= outlen)
        return n == 0 ? (out[0] = '\0', true) : false;
    memcpy(out, s, n);
    out[n] = '\0';
    for (const char *c = out; *c;) {
        const char *e = strchr(c, '/');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if (l == 2 && c[0] == '.' && c[1] == '.')
            return false;
        if (l == 0) /* "a//b" */
            return false;
        c += l + (e ? 1 : 0);
    }
    return true;
}

static void an_pax_parse(struct an_tar *t, const unsigned char *d, size_t n, bool global)
{
    /* records: "%d %s=%s\n" */
    size_t i = 0;
    while (i < n) {
        size_t j = i, len = 0;
        while (j < n && d[j] >= '0' && d[j] <= '9' && len < n)
            len = len * 10 + (size_t)(d[j++] - '0');
        if (j >= n || d[j] != ' ' || len == 0 || len > n - i)
            return;
        const unsigned char *rec = d + j + 1, *end = d + i + len;
        if (end[-1] != '\n')
            return;
        const unsigned char *eq = memchr(rec, '=', (size_t)(end - rec));
        if (eq) {
            size_t kl = (size_t)(eq - rec), vl = (size_t)(end - 1 - (eq + 1));
            if (!global && kl == 4 && memcmp(rec, "path", 4) == 0) {
                free(t->pax_path);
                t->pax_path = strndup((const char *)eq + 1, vl);
                if (t->pax_path && strlen(t->pax_path) != vl) { /* NUL inside the path */
                    free(t->pax_path);
                    t->pax_path = strdup("/");
                }
            } else if (!global && kl == 4 && memcmp(rec, "size", 4) == 0) {
                char tmp[32];
                if (vl < sizeof tmp) {
                    memcpy(tmp, eq + 1, vl);
                    tmp[vl] = '\0';
                    int64_t v;
                    if (sg_parse_i64(tmp, 0, INT64_MAX, &v)) {
                        t->pax_size = (uint64_t)v;
                        t->pax_has_size = true;
                    }
                }
            }
        }
        i += len;
    }
}

static enum sg_err an_tar_header(struct an_tar *t, const unsigned char *h)
{
    bool zero = true;
    for (int i = 0; i < 512 && zero; i++)
        zero = h[i] == 0;
    if (zero) {
        t->zero_blocks++;
        if (t->zero_blocks >= 2)
            t->state = AN_TAR_END;
        return SG_OK;
    }
    t->zero_blocks = 0;
    /* checksum: sum of header bytes with the checksum field as spaces */
    unsigned long sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    bool ok = true;
    uint64_t want = an_octal(h + 148, 8, &ok);
    if (!ok || want != sum)
        return an_tar_fail(
            t, SG_ERR_PARSE,
            "not a tar archive or corrupt tar header (checksum mismatch at byte %llu)",
            (unsigned long long)t->offset);
    ok = true;
    uint64_t size = an_octal(h + 124, 12, &ok);
    if (!ok)
        return an_tar_fail(t, SG_ERR_PARSE, "corrupt tar header: bad size field at byte %llu",
                           (unsigned long long)t->offset);
    char type = (char)h[156];
    if (t->pax_has_size && type != 'x' && type != 'g' && type != 'L' && type != 'K') {
        size = t->pax_size;
    }
    t->entry_size = size;
    t->entry_left = size;
    t->entry_pad = (512 - size % 512) % 512;
    t->state = AN_TAR_DATA;

    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        if (size > AN_META_MAX)
            return an_tar_fail(t, SG_ERR_TOO_LARGE, "tar metadata entry of %llu bytes (limit %d)",
                               (unsigned long long)size, AN_META_MAX);
        t->entry_kind = type == 'x'   ? AN_ENT_PAX
                        : type == 'g' ? AN_ENT_PAXG
                        : type == 'L' ? AN_ENT_LONG
                                      : AN_ENT_SKIP;
        t->meta_len = 0;
        if (size + 1 > t->meta_cap) {
            unsigned char *nm = realloc(t->meta, (size_t)size + 1);
            if (!nm)
                return an_tar_fail(t, SG_ERR_NOMEM, "out of memory");
            t->meta = nm;
            t->meta_cap = (size_t)size + 1;
        }
        goto maybe_done;
    }

    /* the entry's name: GNU long name, else pax path, else ustar prefix + name */
    char raw[8192];
    if (t->long_name) {
        snprintf(raw, sizeof raw, "%s", t->long_name);
    } else if (t->pax_path) {
        snprintf(raw, sizeof raw, "%s", t->pax_path);
    } else {
        char name[101], prefix[156];
        memcpy(name, h, 100);
        name[100] = '\0';
        prefix[0] = '\0';
        if (memcmp(h + 257, "ustar", 5) == 0 && h[345]) {
            memcpy(prefix, h + 345, 155);
            prefix[155] = '\0';
        }
        if (prefix[0])
            snprintf(raw, sizeof raw, "%s/%s", prefix, name);
        else
            snprintf(raw, sizeof raw, "%s", name);
    }
    bool long_too = (t->long_name && strlen(t->long_name) >= sizeof raw) ||
                    (t->pax_path && strlen(t->pax_path) >= sizeof raw);
    free(t->long_name);
    t->long_name = NULL;
    free(t->pax_path);
    t->pax_path = NULL;
    t->pax_has_size = false;

    char path[8192];
    bool safe =
        !long_too && an_clean_path(raw, path, sizeof path) && strlen(path) <= t->max_path_len;
    t->entry_kind = AN_ENT_SKIP;
    if (type == '0' || type == '\0' || type == '7') {
        if (!safe) {
            t->sink->other(t->ctx, NULL, true);
        } else if (path[0] == '\0' || strcmp(raw, "pax_global_header") == 0) {
            /* the top folder itself or a stray global header name */
        } else {
            enum sg_err e = t->sink->file_begin(t->ctx, path, size);
            if (e)
                return e;
            t->entry_kind = AN_ENT_FILE;
        }
    } else if (type == '5') {
        if (safe && path[0])
            t->sink->other(t->ctx, path, false);
    } else {
        /* links, devices, FIFOs, sparse and unknown types are never read */
        t->sink->other(t->ctx, safe ? path : NULL, true);
    }
maybe_done:
    if (t->entry_left == 0) {
        /* empty entry: finish it now */
        if (t->entry_kind == AN_ENT_FILE) {
            t->state = AN_TAR_HDR;
            return t->sink->file_end(t->ctx);
        } else if (t->entry_kind == AN_ENT_LONG) {
            free(t->long_name);
            t->long_name = strdup("");
        }
        t->state = AN_TAR_HDR;
    }
    return SG_OK;
}

static enum sg_err an_entry_done(struct an_tar *t)
{
    switch (t->entry_kind) {
    case AN_ENT_FILE:
        return t->sink->file_end(t->ctx);
    case AN_ENT_PAX:
    case AN_ENT_PAXG:
        an_pax_parse(t, t->meta, t->meta_len, t->entry_kind == AN_ENT_PAXG);
        break;
    case AN_ENT_LONG: {
        size_t n = strnlen((const char *)t->meta, t->meta_len);
        free(t->long_name);
        t->long_name = strndup((const char *)t->meta, n);
        break;
    }
    default:
        break;
    }
    return SG_OK;
}

enum sg_err an_tar_feed(struct an_tar *t, const unsigned char *d, size_t n)
{
    while (n > 0) {
        switch (t->state) {
        case AN_TAR_END:
            return SG_OK; /* padding after the end-of-archive blocks */
        case AN_TAR_HDR: {
            size_t take = 512 - t->hdr_len;
            if (take > n)
                take = n;
            memcpy(t->hdr + t->hdr_len, d, take);
            t->hdr_len += take;
            d += take, n -= take;
            t->offset += take;
            if (t->hdr_len == 512) {
                t->hdr_len = 0;
                enum sg_err e = an_tar_header(t, t->hdr);
                if (e)
                    return e;
            }
            break;
        }
        case AN_TAR_DATA: {
            size_t take = t->entry_left < n ? (size_t)t->entry_left : n;
            if (t->entry_kind == AN_ENT_FILE) {
                t->sink->file_data(t->ctx, d, take);
            } else if (t->entry_kind == AN_ENT_PAX || t->entry_kind == AN_ENT_PAXG ||
                       t->entry_kind == AN_ENT_LONG) {
                memcpy(t->meta + t->meta_len, d, take);
                t->meta_len += take;
            }
            d += take, n -= take;
            t->offset += take;
            t->entry_left -= take;
            if (t->entry_left == 0) {
                enum sg_err e = an_entry_done(t);
                if (e)
                    return e;
                t->state = t->entry_pad ? AN_TAR_PAD : AN_TAR_HDR;
            }
            break;
        }
        case AN_TAR_PAD: {
            size_t take = t->entry_pad < n ? (size_t)t->entry_pad : n;
            d += take, n -= take;
            t->offset += take;
            t->entry_pad -= take;
            if (t->entry_pad == 0)
                t->state = AN_TAR_HDR;
            break;
        }
        }
    }
    return SG_OK;
}

enum sg_err an_tar_finish(const struct an_tar *t, const char *cur_path)
{
    if (t->state != AN_TAR_DATA && t->state != AN_TAR_PAD && t->hdr_len == 0)
        return SG_OK;
    bool in_file = t->state == AN_TAR_DATA && t->entry_kind == AN_ENT_FILE && cur_path;
    if (in_file)
        snprintf(t->err, t->errlen, "truncated tar stream: it ends inside \"%s\"", cur_path);
    else
        snprintf(t->err, t->errlen, "truncated tar stream: it ends inside an entry");
    return SG_ERR_PARSE;
}
