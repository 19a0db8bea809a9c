/* Why: owns gzip inflation of the tarball stream (ISA-L when built with it, else zlib): the magic
 * check before anything is inflated, member boundaries, and the errors a corrupt or truncated
 * stream gives. The output is handed on in AN_GZ_OUT-sized runs, so memory stays fixed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_inflate.h"

#define AN_GZ_OUT (256 * 1024)

enum sg_err an_gz_init(struct an_gz *gz)
{
    memset(gz, 0, sizeof *gz);
    gz->outbuf = malloc(AN_GZ_OUT);
    return gz->outbuf ? SG_OK : SG_ERR_NOMEM;
}

static void an_gz_end(struct an_gz *gz)
{
#ifndef SG_HAVE_ISAL
    if (gz->z_init)
        inflateEnd(&gz->zs);
#endif
    gz->z_init = false;
}

void an_gz_free(struct an_gz *gz)
{
    an_gz_end(gz);
    free(gz->outbuf);
    gz->outbuf = NULL;
}

static enum sg_err an_gz_start(struct an_gz *gz, char *err, size_t errlen)
{
#ifdef SG_HAVE_ISAL
    (void)err, (void)errlen;
    isal_inflate_init(&gz->zs);
    gz->zs.crc_flag = ISAL_GZIP;
#else
    memset(&gz->zs, 0, sizeof gz->zs);
    if (inflateInit2(&gz->zs, 16 + 15) != Z_OK) {
        snprintf(err, errlen, "zlib init failed");
        return SG_ERR_NOMEM;
    }
#endif
    gz->z_init = true;
    return SG_OK;
}

/* Inflates from in until it is used up or the gzip member ends; *used says how much was taken. */
static enum sg_err an_gz_some(struct an_gz *gz, const unsigned char *in, size_t len, size_t *used,
                              an_gz_out_fn out, void *ctx, char *err, size_t errlen)
{
#ifdef SG_HAVE_ISAL
    gz->zs.next_in = (uint8_t *)(uintptr_t)in;
    gz->zs.avail_in = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    size_t given = gz->zs.avail_in;
    for (;;) {
        gz->zs.next_out = gz->outbuf;
        gz->zs.avail_out = AN_GZ_OUT;
        int ret = isal_inflate(&gz->zs);
        size_t produced = AN_GZ_OUT - gz->zs.avail_out;
        if (ret < 0) {
            snprintf(err, errlen, "corrupt gzip stream (igzip error %d near compressed byte %llu)",
                     ret, (unsigned long long)(gz->total_in - len + (given - gz->zs.avail_in)));
            return SG_ERR_PARSE;
        }
        if (produced) {
            enum sg_err e = out(ctx, gz->outbuf, produced);
            if (e)
                return e;
        }
        if (gz->zs.block_state == ISAL_BLOCK_FINISH) {
            gz->done = true;
            gz->members++;
            break;
        }
        if (gz->zs.avail_in == 0 && produced < AN_GZ_OUT)
            break;
    }
    *used = given - gz->zs.avail_in;
#else
    gz->zs.next_in = (Bytef *)(uintptr_t)in;
    gz->zs.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
    size_t given = gz->zs.avail_in;
    for (;;) {
        gz->zs.next_out = gz->outbuf;
        gz->zs.avail_out = AN_GZ_OUT;
        int ret = inflate(&gz->zs, Z_NO_FLUSH);
        size_t produced = AN_GZ_OUT - gz->zs.avail_out;
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
            snprintf(err, errlen, "corrupt gzip stream (%s)",
                     gz->zs.msg ? gz->zs.msg : "zlib error");
            return SG_ERR_PARSE;
        }
        if (produced) {
            enum sg_err e = out(ctx, gz->outbuf, produced);
            if (e)
                return e;
        }
        if (ret == Z_STREAM_END) {
            gz->done = true;
            gz->members++;
            break;
        }
        if (gz->zs.avail_in == 0 && produced < AN_GZ_OUT)
            break;
        if (ret == Z_BUF_ERROR && produced == 0)
            break;
    }
    *used = given - gz->zs.avail_in;
#endif
    return SG_OK;
}

enum sg_err an_gz_feed(struct an_gz *gz, const unsigned char *in, size_t len, an_gz_out_fn out,
                       void *ctx, char *err, size_t errlen)
{
    gz->total_in += len;
    while (len > 0) {
        enum sg_err e;
        if (gz->done) {
            /* after the gzip trailer: another member (concatenated gzip) or padding zeros */
            if (in[0] == 0) {
                in++, len--;
                continue;
            }
            gz->done = false;
            an_gz_end(gz);
        }
        if (!gz->z_init) {
            if (gz->magic_len < 2) {
                /* the first two bytes must be gzip's magic; checked before inflating anything */
                size_t take = 2 - gz->magic_len < len ? 2 - gz->magic_len : len;
                memcpy(gz->magic + gz->magic_len, in, take);
                gz->magic_len += (unsigned)take;
                in += take, len -= take;
                if (gz->magic_len < 2)
                    return SG_OK;
                if (gz->magic[0] != 0x1f || gz->magic[1] != 0x8b) {
                    snprintf(err, errlen,
                             "not a gzip stream (the input does not start with 1f 8b)");
                    return SG_ERR_PARSE;
                }
                if ((e = an_gz_start(gz, err, errlen)))
                    return e;
                size_t used = 0;
                if ((e = an_gz_some(gz, gz->magic, 2, &used, out, ctx, err, errlen)))
                    return e;
                continue;
            }
            if ((e = an_gz_start(gz, err, errlen)))
                return e;
        }
        size_t used = 0;
        if ((e = an_gz_some(gz, in, len, &used, out, ctx, err, errlen)))
            return e;
        in += used;
        len -= used;
        if (!gz->done && used == 0)
            break;
    }
    return SG_OK;
}

enum sg_err an_gz_finish(const struct an_gz *gz, char *err, size_t errlen)
{
    if (gz->total_in == 0) {
        snprintf(err, errlen, "empty input: no gzip stream");
        return SG_ERR_PARSE;
    }
    if (!gz->done || gz->members == 0) {
        snprintf(err, errlen,
                 "truncated gzip stream: input ended after %llu compressed bytes without the gzip "
                 "trailer",
                 (unsigned long long)gz->total_in);
        return SG_ERR_PARSE;
    }
    return SG_OK;
}
