/* Why: the session structure, shared by the stream session (an_engine.c) and the directory
 * walker (an_dir.c); it is private to the engine. The tar parser, the inflater and the running
 * totals are parts it owns; none of them knows the session.
 * Ownership: every pointer inside belongs to the session and is freed by an_free(). */
#ifndef AN_ENGINE_H
#define AN_ENGINE_H

#include "an_inflate.h"
#include "an_internal.h"
#include "an_result.h"
#include "an_tar.h"

struct an_pending { /* a file held back until the configuration is known */
    char *path;
    unsigned char *data;
    size_t len;
    uint64_t size;
    bool truncated;
};

enum { AN_CUR_READ = 0, AN_CUR_SNIFF, AN_CUR_SKIP };

struct an_session {
    struct an_limits limits;
    struct an_config cfg;
    struct an_secrets *sec; /* the secret matcher, built from cfg when a file first needs it */
    int64_t deadline_ms;
    void (*progress)(void *ctx, uint64_t bytes_read, uint64_t files);
    void *progress_ctx;
    bool config_resolved, config_seen;
    bool finished, dir_mode, dir_config_read;
    enum sg_err err;
    char errmsg[512];

    struct an_gz gz;
    struct an_tar tar;
    uint64_t total_out;

    /* current file */
    char *cur_path;
    uint64_t cur_size;
    int cur_mode;
    unsigned char *fbuf;
    size_t cur_len, fcap;
    uint64_t nentries;

    struct an_pending *pending;
    size_t npending, cap_pending, pending_bytes;
    uint64_t late_files;

    struct an_tally *tally;
    struct an_skipped skipped;
};

enum sg_err an_file_begin(struct an_session *an, const char *path, uint64_t size);
void an_file_data(struct an_session *an, const unsigned char *d, size_t n);
enum sg_err an_file_end(struct an_session *an);
void an_file_unsafe(struct an_session *an, const char *path);
/* SG_ERR_TIMEOUT (and the session's error set) once the deadline has passed. */
enum sg_err an_check_deadline(struct an_session *an);

#endif
