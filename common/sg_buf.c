/* Why: capped, always-terminated buffers; see sg_buf.h. */
#include "sg_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_utf8.h"

#define SG_BUF_DEFAULT_MAX (SIZE_MAX / 2)

void sg_buf_init(struct sg_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SG_BUF_DEFAULT_MAX;
}

void sg_buf_free(struct sg_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sg_buf_reset(struct sg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

enum sg_err sg_buf_reserve(struct sg_buf *b, size_t extra)
{
    if (b->max == 0)
        b->max = SG_BUF_DEFAULT_MAX;
    if (extra > b->max || b->len > b->max - extra)
        return SG_ERR_TOO_LARGE;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return SG_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1 > need ? b->max + 1 : need;
    char *n = realloc(b->data, ncap);
    if (!n)
        return SG_ERR_NOMEM;
    if (!b->data)
        n[0] = '\0';
    b->data = n;
    b->cap = ncap;
    return SG_OK;
}

enum sg_err sg_buf_append(struct sg_buf *b, const void *data, size_t len)
{
    enum sg_err err = sg_buf_reserve(b, len);
    if (err)
        return err;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return SG_OK;
}

enum sg_err sg_buf_puts(struct sg_buf *b, const char *s)
{
    return sg_buf_append(b, s, strlen(s));
}

enum sg_err sg_buf_putc(struct sg_buf *b, char c)
{
    return sg_buf_append(b, &c, 1);
}

enum sg_err sg_buf_vprintf(struct sg_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return SG_ERR_INVALID;
    if ((size_t)n < sizeof small)
        return sg_buf_append(b, small, (size_t)n);
    enum sg_err err = sg_buf_reserve(b, (size_t)n);
    if (err)
        return err;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return SG_OK;
}

enum sg_err sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum sg_err err = sg_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return err;
}

enum sg_err sg_buf_put_i64(struct sg_buf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return sg_buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

enum sg_err sg_buf_put_json_str(struct sg_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    enum sg_err err = sg_buf_reserve(b, len + 2);
    if (err)
        return err;
    if ((err = sg_buf_putc(b, '"')))
        return err;
    size_t run = 0; /* start of a run of bytes copied as they are */
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char ubuf[7];
        size_t step = 1;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            step = sg_utf8_seq_len(s + i, len - i);
            if (step) {
                i += step;
                continue;
            }
            esc = "\\ufffd";
            step = 1;
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else {
            ubuf[0] = '\\';
            ubuf[1] = 'u';
            ubuf[2] = '0';
            ubuf[3] = '0';
            ubuf[4] = hex[c >> 4];
            ubuf[5] = hex[c & 15];
            ubuf[6] = '\0';
            esc = ubuf;
        }
        if ((err = sg_buf_append(b, p + run, i - run)) || (err = sg_buf_puts(b, esc)))
            return err;
        i += step;
        run = i;
    }
    if ((err = sg_buf_append(b, p + run, i - run)))
        return err;
    return sg_buf_putc(b, '"');
}

char *sg_buf_detach(struct sg_buf *b)
{
    char *d = b->data;
    if (!d) {
        d = malloc(1);
        if (d)
            d[0] = '\0';
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return d;
}

const char *sg_buf_str(const struct sg_buf *b)
{
    return b->data ? b->data : "";
}
