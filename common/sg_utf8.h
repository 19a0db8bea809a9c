/* Why: GitHub refuses a whole request body (400) when one string in it is not valid UTF-8, and
 * the worker sends text it does not control (file names from tarballs, YAML config messages,
 * error messages from other systems). This is the one place that decides what valid UTF-8 is
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), replaces what is not, and cuts
 * text at character boundaries only.
 *
 * Ownership: sg_utf8_dup() returns a malloc'ed string the caller frees; the rest borrow. */
#ifndef SG_UTF8_H
#define SG_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "sg_buf.h"
#include "sg_err.h"

/* U+FFFD, what each byte that does not begin a valid sequence becomes. */
#define SG_UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Length (1-4) of the valid UTF-8 sequence at s, n bytes available; 0 when none starts there. */
size_t sg_utf8_seq_len(const char *s, size_t n);

/* True when all len bytes of s are valid UTF-8 (NUL bytes included: they are U+0000). */
bool sg_utf8_valid(const char *s, size_t len);

/* The longest prefix of s (valid UTF-8, len bytes) of at most max bytes that ends between two
 * characters. */
size_t sg_utf8_prefix(const char *s, size_t len, size_t max);

/* Appends s to b as valid UTF-8 of at most max bytes: every byte that begins no valid sequence is
 * replaced by U+FFFD, and the text is cut before the first character that would not fit whole.
 * *consumed (may be NULL) is how many input bytes were used (len unless cut). */
enum sg_err sg_buf_put_utf8(struct sg_buf *b, const char *s, size_t len, size_t max,
                            size_t *consumed);

/* The same into a new NUL-terminated string (NULL s reads as ""); NULL when out of memory. */
char *sg_utf8_dup(const char *s, size_t len, size_t max);

#endif
