/* Why: see sg_utf8.h; one definition of valid UTF-8 for every text the processes send. */
#include "sg_utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t sg_utf8_seq_len(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) { /* C0 and C1 could only begin overlong forms */
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

bool sg_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if ((unsigned char)s[i] < 0x80) { /* ASCII runs are the common case */
            i++;
            continue;
        }
        size_t n = sg_utf8_seq_len(s + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

size_t sg_utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* s[n] continues a character */
        n--;
    return n;
}

enum sg_err sg_buf_put_utf8(struct sg_buf *b, const char *s, size_t len, size_t max,
                            size_t *consumed)
{
    enum sg_err e = SG_OK;
    size_t i = 0, out = 0, run = 0; /* run: start of bytes copied as they are */
    while (i < len) {
        size_t n = sg_utf8_seq_len(s + i, len - i);
        size_t w = n ? n : sizeof SG_UTF8_REPLACEMENT - 1;
        if (out + w > max)
            break;
        out += w;
        if (n) {
            i += n;
            continue;
        }
        if ((e = sg_buf_append(b, s + run, i - run)) ||
            (e = sg_buf_append(b, SG_UTF8_REPLACEMENT, w)))
            return e;
        run = ++i;
    }
    if (consumed)
        *consumed = i;
    return sg_buf_append(b, s + run, i - run);
}

char *sg_utf8_dup(const char *s, size_t len, size_t max)
{
    struct sg_buf b;
    sg_buf_init(&b, 0);
    if (!s)
        s = "";
    /* the empty append makes sure there is a string to detach */
    if (sg_buf_put_utf8(&b, s, len, max, NULL) != SG_OK || sg_buf_append(&b, "", 0) != SG_OK) {
        sg_buf_free(&b);
        return NULL;
    }
    return sg_buf_detach(&b);
}
