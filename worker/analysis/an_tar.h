/* Why: the tar stream parser, separate from what is done with the files it finds. It walks
 * 512-byte headers (ustar, pax records, GNU long names), decides which entries are safe regular
 * files and hands those to a sink; everything else is reported, never read.
 *
 * Ownership: struct an_tar lives inside its owner; an_tar_free() releases its metadata buffers.
 * Paths given to the sink are valid only during the call. */
#ifndef AN_TAR_H
#define AN_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"

struct an_tar_sink {
    /* a safe regular file of size bytes; its data follows in file_data calls, then file_end */
    enum sg_err (*file_begin)(void *ctx, const char *path, uint64_t size);
    void (*file_data)(void *ctx, const unsigned char *d, size_t n);
    enum sg_err (*file_end)(void *ctx);
    /* a directory (unsafe false) or an entry never read: a link, device, unsafe name (unsafe
     * true); path is NULL when the name itself is unsafe */
    void (*other)(void *ctx, const char *path, bool unsafe);
};

struct an_tar {
    int state;
    unsigned char hdr[512];
    size_t hdr_len;
    unsigned zero_blocks;
    uint64_t offset, entry_size, entry_left, entry_pad;
    int entry_kind;
    unsigned char *meta;
    size_t meta_len, meta_cap;
    char *pax_path, *long_name;
    uint64_t pax_size;
    bool pax_has_size;
    uint32_t max_path_len;
    const struct an_tar_sink *sink;
    void *ctx;
    char *err; /* the owner's message buffer, written on the parser's own errors */
    size_t errlen;
};

void an_tar_init(struct an_tar *t, uint32_t max_path_len, const struct an_tar_sink *sink, void *ctx,
                 char *err, size_t errlen);
void an_tar_free(struct an_tar *t);
/* Consumes uncompressed tar bytes: SG_ERR_PARSE or SG_ERR_TOO_LARGE on a bad archive, or the
 * sink's own error. */
enum sg_err an_tar_feed(struct an_tar *t, const unsigned char *d, size_t n);
/* At the end of the input: SG_ERR_PARSE when it stopped inside an entry (cur_path names the file
 * being read, if any). */
enum sg_err an_tar_finish(const struct an_tar *t, const char *cur_path);

#endif
