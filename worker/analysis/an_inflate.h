/* Why: gzip inflation for the tarball stream, behind one small interface so the session does not
 * care whether ISA-L (about twice zlib's speed) or zlib does the work. Concatenated gzip members
 * and zero padding after the last trailer are accepted, as GitHub and `git archive` produce them.
 *
 * Ownership: struct an_gz lives inside its owner; an_gz_init() allocates the output buffer that
 * an_gz_free() releases. Inflated bytes are handed to the caller's function and not kept. */
#ifndef AN_INFLATE_H
#define AN_INFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef SG_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#include "sg_err.h"

struct an_gz {
#ifdef SG_HAVE_ISAL
    struct inflate_state zs;
#else
    z_stream zs;
#endif
    bool z_init, done;
    unsigned members;
    unsigned char magic[2];
    unsigned magic_len;
    unsigned char *outbuf;
    uint64_t total_in;
};

/* Receives each run of inflated bytes; an error stops the stream and is returned by an_gz_feed. */
typedef enum sg_err (*an_gz_out_fn)(void *ctx, const unsigned char *d, size_t n);

enum sg_err an_gz_init(struct an_gz *gz);
void an_gz_free(struct an_gz *gz);
/* Inflates the next compressed bytes; SG_ERR_PARSE (with a message in err) when they are not
 * gzip, or the output function's own error. */
enum sg_err an_gz_feed(struct an_gz *gz, const unsigned char *in, size_t len, an_gz_out_fn out,
                       void *ctx, char *err, size_t errlen);
/* After the last feed: SG_ERR_PARSE when no complete gzip member was seen. */
enum sg_err an_gz_finish(const struct an_gz *gz, char *err, size_t errlen);

#endif
