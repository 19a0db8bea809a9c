/* Why: the session structure is shared by the stream parser (an_engine.c), the directory walker
 * (an_dir.c) and the result builder (an_result.c); it is private to the engine.
 * Ownership: every pointer inside belongs to the session and is freed by sg_an_free(). */
#ifndef AN_ENGINE_H
#define AN_ENGINE_H

#include <stdarg.h>

#ifdef SG_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#include "an_internal.h"
#include "sg_config.h"

enum { AN_REC_COUNTED = 0, AN_REC_TEXT, AN_REC_BINARY };

struct an_rec { /* one analysed file */
    char *path;
    int16_t lang; /* -1: text of no known language (only secrets / conflict rules) */
    uint8_t status;
    bool late; /* analysed before .singularity.yml was known */
    uint32_t lines;
    uint64_t code, comment, blank, bytes, complexity;
    uint32_t rc[AN_NRULES]; /* exact findings per rule in this file */
};

struct an_fnd {               /* a kept finding; the message is built at the end */
    uint32_t file, line, aux; /* SEC rules: aux is the gitleaks rule (an_sec_rules index) */
    uint8_t rule;
    char hint[4]; /* SEC rules: at most the secret's first 4 characters, never more */
};

struct an_pending { /* a file held back until the configuration is known */
    char *path;
    unsigned char *data;
    size_t len;
    uint64_t size;
    bool truncated;
};

enum { AN_TAR_HDR = 0, AN_TAR_DATA, AN_TAR_PAD, AN_TAR_END };
enum { AN_ENT_SKIP = 0, AN_ENT_FILE, AN_ENT_PAX, AN_ENT_PAXG, AN_ENT_LONG };
enum { AN_CUR_READ = 0, AN_CUR_SNIFF, AN_CUR_SKIP };

struct sg_an {
    struct sg_an_limits limits;
    struct an_config cfg;
    struct an_secrets *sec; /* built from cfg when the first file is analysed */
    bool config_resolved, config_seen, config_late;
    bool keep_files, finished, dir_mode, dir_config_read;
    enum sg_err err;
    char errmsg[512];

    /* gzip */
#ifdef SG_HAVE_ISAL
    struct inflate_state zs;
#else
    z_stream zs;
#endif
    bool z_init, gz_done;
    unsigned gz_members;
    unsigned char magic[2];
    unsigned magic_len;
    unsigned char *outbuf;
    uint64_t total_in, total_out;

    /* tar */
    int tar_state;
    unsigned char hdr[512];
    size_t hdr_len;
    unsigned tar_zero_blocks;
    uint64_t tar_offset, entry_size, entry_left, entry_pad;
    int entry_kind;
    unsigned char *meta;
    size_t meta_len, meta_cap;
    char *pax_path, *long_name;
    uint64_t pax_size;
    bool pax_has_size;

    /* current file */
    char *cur_path;
    uint64_t cur_size;
    int cur_mode;
    unsigned char *fbuf;
    size_t cur_len, fcap;
    uint64_t nentries;

    struct an_pending *pending;
    size_t npending, pending_bytes;
    uint64_t late_files;

    struct an_rec *recs;
    size_t nrecs, cap_recs;
    struct an_fnd *fnds;
    size_t nfnds, cap_fnds;
    uint64_t kept[AN_NRULES];
    struct sg_an_skipped skipped;
};

enum sg_err an_file_begin(struct sg_an *an, const char *path, uint64_t size);
void an_file_data(struct sg_an *an, const unsigned char *d, size_t n);
void an_file_end(struct sg_an *an);
void an_file_unsafe(struct sg_an *an, const char *path);
void an_inflate_end(struct sg_an *an);
bool an_excluded(const struct an_config *c, const char *path, int lang);
enum sg_err an_build_result(struct sg_an *an, struct sg_an_result **out);

#endif
