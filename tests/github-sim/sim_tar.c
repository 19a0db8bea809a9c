/* Why: the simulator serves a directory as GitHub's tarball of any commit, made on the fly, so
 * tests exercise the same bytes the worker sees from codeload: a pax global header carrying the
 * commit id, then everything under one top folder "<owner>-<repo>-<sha7>/", gzip-compressed. */
#include "sim_tar.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define TAR_BLOCK 512
#define TAR_MTIME 1764182400L /* fixed, like a commit time: the same sha gives the same bytes */

static void octal(char *dst, size_t width, unsigned long long v)
{
    /* width includes the terminating NUL */
    snprintf(dst, width, "%0*llo", (int)(width - 1), v);
}

static enum sg_err put_header(struct sg_buf *out, const char *name, char type, unsigned mode,
                              unsigned long long size, const char *linkname)
{
    char h[TAR_BLOCK];
    memset(h, 0, sizeof h);
    size_t nlen = strlen(name);
    if (nlen > 99)
        nlen = 99; /* the real name is in a pax 'x' record before this header */
    memcpy(h, name, nlen);
    octal(h + 100, 8, mode);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, (unsigned long long)TAR_MTIME);
    memset(h + 148, ' ', 8);
    h[156] = type;
    if (linkname) {
        size_t l = strlen(linkname);
        memcpy(h + 157, linkname, l > 99 ? 99 : l);
    }
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memcpy(h + 265, "root", 4);
    memcpy(h + 297, "root", 4);
    unsigned sum = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return sg_buf_append(out, h, sizeof h);
}

static enum sg_err pad(struct sg_buf *out, size_t len)
{
    static const char zero[TAR_BLOCK];
    size_t rem = len % TAR_BLOCK;
    return rem ? sg_buf_append(out, zero, TAR_BLOCK - rem) : SG_OK;
}

/* One pax record "LEN key=value\n", where LEN counts its own digits. */
static enum sg_err pax_record(struct sg_buf *rec, const char *key, const char *value)
{
    size_t body = 1 + strlen(key) + 1 + strlen(value) + 1;
    size_t len = body + 1;
    for (;;) {
        char tmp[32];
        int d = snprintf(tmp, sizeof tmp, "%zu", len);
        if ((size_t)d + body == len)
            break;
        len = (size_t)d + body;
    }
    return sg_buf_printf(rec, "%zu %s=%s\n", len, key, value);
}

static enum sg_err pax_entry(struct sg_buf *out, char type, const char *name, const char *key,
                             const char *value)
{
    struct sg_buf rec;
    sg_buf_init(&rec, 1 << 20);
    enum sg_err e = pax_record(&rec, key, value);
    if (e == SG_OK)
        e = put_header(out, name, type, 0644, rec.len, NULL);
    if (e == SG_OK)
        e = sg_buf_append(out, rec.data, rec.len);
    if (e == SG_OK)
        e = pad(out, rec.len);
    sg_buf_free(&rec);
    return e;
}

static enum sg_err add_tree(struct sg_buf *out, const char *fs_dir, const char *tar_dir, int depth)
{
    enum sg_err e = SG_OK;
    struct dirent **names = NULL;
    if (depth > 64)
        return SG_ERR_TOO_LARGE;
    int n = scandir(fs_dir, &names, NULL, alphasort);
    if (n < 0)
        return SG_ERR_IO;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        char fs_path[4096], tar_path[4096];
        struct stat st;
        if (e != SG_OK || !strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, ".git"))
            continue;
        if ((size_t)snprintf(fs_path, sizeof fs_path, "%s/%s", fs_dir, nm) >= sizeof fs_path ||
            (size_t)snprintf(tar_path, sizeof tar_path, "%s%s", tar_dir, nm) >=
                sizeof tar_path - 1) {
            e = SG_ERR_TOO_LARGE;
            continue;
        }
        if (lstat(fs_path, &st) != 0) {
            e = SG_ERR_IO;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            size_t tl = strlen(tar_path); /* room for one more byte was checked above */
            tar_path[tl] = '/';
            tar_path[tl + 1] = '\0';
        }
        if (strlen(tar_path) > 99) {
            e = pax_entry(out, 'x', "PaxHeader", "path", tar_path);
            if (e != SG_OK)
                continue;
        }
        if (S_ISDIR(st.st_mode)) {
            e = put_header(out, tar_path, '5', 0755, 0, NULL);
            if (e == SG_OK)
                e = add_tree(out, fs_path, tar_path, depth + 1);
        } else if (S_ISLNK(st.st_mode)) {
            char target[1024];
            ssize_t l = readlink(fs_path, target, sizeof target - 1);
            if (l < 0) {
                e = SG_ERR_IO;
                continue;
            }
            target[l] = '\0';
            e = put_header(out, tar_path, '2', 0777, 0, target);
        } else if (S_ISREG(st.st_mode)) {
            FILE *f = fopen(fs_path, "rb");
            if (!f) {
                e = SG_ERR_IO;
                continue;
            }
            e = put_header(out, tar_path, '0', (st.st_mode & 0111) ? 0755 : 0644,
                           (unsigned long long)st.st_size, NULL);
            char chunk[65536];
            size_t got, total = 0;
            while (e == SG_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0) {
                e = sg_buf_append(out, chunk, got);
                total += got;
            }
            fclose(f);
            if (e == SG_OK && total != (size_t)st.st_size)
                e = SG_ERR_IO; /* the file changed under us */
            if (e == SG_OK)
                e = pad(out, total);
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return e;
}

enum sg_err sim_tar_gz(const char *dir, const char *owner, const char *repo, const char *sha,
                       struct sg_buf *out)
{
    enum sg_err e;
    struct sg_buf tar;
    sg_buf_init(&tar, (size_t)1 << 30);
    char top[512], sha7[8];
    size_t i;
    for (i = 0; i < 7 && sha[i]; i++)
        sha7[i] = sha[i];
    sha7[i] = '\0';
    snprintf(top, sizeof top, "%s-%s-%s/", owner, repo, sha7);

    e = pax_entry(&tar, 'g', "pax_global_header", "comment", sha);
    if (e == SG_OK)
        e = put_header(&tar, top, '5', 0755, 0, NULL);
    if (e == SG_OK)
        e = add_tree(&tar, dir, top, 0);
    if (e == SG_OK) {
        static const char zero[2 * TAR_BLOCK];
        e = sg_buf_append(&tar, zero, sizeof zero);
    }
    if (e != SG_OK)
        goto out;

    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        e = SG_ERR_NOMEM;
        goto out;
    }
    uLong bound = deflateBound(&z, (uLong)tar.len);
    e = sg_buf_reserve(out, bound);
    if (e != SG_OK) {
        deflateEnd(&z);
        goto out;
    }
    z.next_in = (Bytef *)tar.data;
    z.avail_in = (uInt)tar.len;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    if (zr != Z_STREAM_END) {
        e = SG_ERR_INTERNAL;
    } else {
        out->len += z.total_out;
        out->data[out->len] = '\0';
    }
    deflateEnd(&z);
out:
    sg_buf_free(&tar);
    return e;
}
