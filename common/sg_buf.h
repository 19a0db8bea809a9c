/* Why: every buffer in the product has a hard size cap (curl's dynbuf idea), so no input can make
 * a process grow without bound. The data is always NUL-terminated.
 *
 * Ownership: the struct is the caller's (usually on the stack or embedded); the data belongs to
 * the buffer until sg_buf_detach() hands it to the caller (free() it). */
#ifndef SG_BUF_H
#define SG_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"

struct sg_buf {
    char *data; /* NULL until the first append; always NUL-terminated after */
    size_t len; /* bytes used, not counting the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len; 0 means SIZE_MAX/2 */
};

void sg_buf_init(struct sg_buf *b, size_t max);
void sg_buf_free(struct sg_buf *b);  /* releases data; the struct may be reused after init */
void sg_buf_reset(struct sg_buf *b); /* len = 0, keeps the allocation */
enum sg_err sg_buf_reserve(struct sg_buf *b, size_t extra);
enum sg_err sg_buf_append(struct sg_buf *b, const void *data, size_t len);
enum sg_err sg_buf_puts(struct sg_buf *b, const char *s);
enum sg_err sg_buf_putc(struct sg_buf *b, char c);
enum sg_err sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum sg_err sg_buf_vprintf(struct sg_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
enum sg_err sg_buf_put_i64(struct sg_buf *b, int64_t v);
/* Appends s as a JSON string literal, quotes included; invalid UTF-8 bytes become U+FFFD. */
enum sg_err sg_buf_put_json_str(struct sg_buf *b, const char *s, size_t len);
/* Returns the data (caller frees) and leaves the buffer empty. Never NULL unless out of memory. */
char *sg_buf_detach(struct sg_buf *b);
/* Returns the data as a string ("" when empty); owned by the buffer. */
const char *sg_buf_str(const struct sg_buf *b);

/* The value of one hex digit (either case), or -1: for the parsers that decode %XX, \uXXXX and
 * hex signatures. */
static inline int sg_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
