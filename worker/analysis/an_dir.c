/* Why: the same pipeline over a checked-out directory (singularity-analyze PATH). Files are read
 * in chunks through the same per-file entry points as the tar stream; entries are visited in
 * sorted order so results are deterministic; symlinks, devices and FIFOs are never opened (lstat
 * via fstatat with AT_SYMLINK_NOFOLLOW, open with O_NOFOLLOW|O_NONBLOCK); `.git` is not content. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "an_engine.h"

#define AN_DIR_MAX_DEPTH 128

static int an_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum sg_err an_read_file(struct an_session *an, int dfd, const char *name, const char *rel,
                                uint64_t size, unsigned char *buf, size_t buflen)
{
    enum sg_err e = an_file_begin(an, rel, size);
    if (e)
        return e;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        an_file_end(an);
        return SG_OK;
    }
    uint64_t left = size;
    while (left > 0) {
        ssize_t n = read(fd, buf, buflen < left ? buflen : (size_t)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        an->total_out += (uint64_t)n;
        if (an->total_out > an->limits.max_total_bytes) {
            close(fd);
            snprintf(an->errmsg, sizeof an->errmsg,
                     "more than %llu bytes in the tree (limit max_total_bytes)",
                     (unsigned long long)an->limits.max_total_bytes);
            an->err = SG_ERR_TOO_LARGE;
            return an->err;
        }
        an_file_data(an, buf, (size_t)n);
        left -= (uint64_t)n;
        /* a file that is larger than max_file_bytes is only sniffed: stop reading early */
        if (size > an->limits.max_file_bytes && size - left >= 8192)
            break;
    }
    close(fd);
    an_file_end(an);
    if (an->progress)
        an->progress(an->progress_ctx, an->total_out, an->nentries);
    return an->err;
}

static enum sg_err an_walk(struct an_session *an, int dfd, const char *rel, int depth,
                           unsigned char *buf, size_t buflen)
{
    enum sg_err e = SG_OK;
    DIR *d = fdopendir(dfd);
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (!d) {
        close(dfd);
        return SG_OK;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (depth == 0 && strcmp(de->d_name, ".git") == 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) {
                e = SG_ERR_NOMEM;
                goto out;
            }
            names = nn, cap = nc;
        }
        if (!(names[n] = strdup(de->d_name))) {
            e = SG_ERR_NOMEM;
            goto out;
        }
        n++;
    }
    qsort(names, n, sizeof *names, an_cmp_names);
    for (size_t i = 0; i < n && !e; i++) {
        if ((e = an_check_deadline(an))) /* a tree of folders alone costs time too */
            break;
        char path[8192];
        int pl = snprintf(path, sizeof path, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        if (pl < 0 || (size_t)pl >= sizeof path || (uint32_t)pl > an->limits.max_path_len) {
            an_file_unsafe(an, NULL);
            continue;
        }
        if (depth == 0 && strcmp(names[i], ".singularity.yml") == 0 && an->dir_config_read)
            continue; /* read first, in an_analyze_dir */
        struct stat st;
        if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth >= AN_DIR_MAX_DEPTH) {
                an_file_unsafe(an, path);
                continue;
            }
            int cfd = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd >= 0)
                e = an_walk(an, cfd, path, depth + 1, buf, buflen);
        } else if (S_ISREG(st.st_mode)) {
            e = an_read_file(an, dirfd(d), names[i], path, (uint64_t)st.st_size, buf, buflen);
        } else {
            an_file_unsafe(an, path); /* symlink, device, FIFO, socket */
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return e;
}

enum sg_err an_analyze_dir(const char *path, const struct an_options *opts, struct an_result **out,
                           char *err, size_t errlen)
{
    enum sg_err e = SG_OK;
    unsigned char *buf = NULL;
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    struct an_session *an = an_new(opts);
    if (!an || !(buf = malloc(256 * 1024))) {
        snprintf(err, errlen, "out of memory");
        e = SG_ERR_NOMEM;
        goto out;
    }
    an->dir_mode = true;
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        e = SG_ERR_IO;
        goto out;
    }
    /* the repository's configuration first, so it applies to every file */
    struct stat st;
    if (fstatat(dfd, ".singularity.yml", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        e = an_read_file(an, dfd, ".singularity.yml", ".singularity.yml", (uint64_t)st.st_size, buf,
                         256 * 1024);
        an->config_seen = true;
        an->dir_config_read = true;
    }
    an->config_resolved = true;
    if (!e)
        e = an_walk(an, dfd, "", 0, buf, 256 * 1024);
    if (!e)
        e = an_finish(an, out);
    if (e)
        snprintf(err, errlen, "%s: %s", path, an->errmsg[0] ? an->errmsg : sg_err_str(e));
out:
    free(buf);
    an_free(an);
    return e;
}
