/* Why: client addresses behind trusted proxies; see ingress_client.h. */
#include "ingress_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

bool ingress_ip_parse(const char *text, size_t len, struct ingress_ip *ip)
{
    while (len && is_blank(*text)) {
        text++;
        len--;
    }
    while (len && is_blank(text[len - 1]))
        len--;
    char buf[INGRESS_ADDR_MAX];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        memcpy(ip->b, V4_MAPPED, sizeof V4_MAPPED);
        memcpy(ip->b + 12, &a4, 4);
        return true;
    }
    return inet_pton(AF_INET6, buf, ip->b) == 1;
}

bool ingress_ip_from_sockaddr(const struct sockaddr *sa, struct ingress_ip *ip)
{
    if (sa->sa_family == AF_INET) {
        memcpy(ip->b, V4_MAPPED, sizeof V4_MAPPED);
        memcpy(ip->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(ip->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

void ingress_ip_format(const struct ingress_ip *ip, char *out)
{
    if (memcmp(ip->b, V4_MAPPED, sizeof V4_MAPPED) == 0)
        inet_ntop(AF_INET, ip->b + 12, out, INGRESS_ADDR_MAX);
    else
        inet_ntop(AF_INET6, ip->b, out, INGRESS_ADDR_MAX);
}

static bool cidr_has(const struct ingress_cidr *c, const struct ingress_ip *ip)
{
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->net.b, ip->b, full) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->net.b[full] & mask) == (ip->b[full] & mask);
}

bool ingress_trusted_has(const struct ingress_trusted *t, const struct ingress_ip *ip)
{
    for (size_t i = 0; i < t->n; i++)
        if (cidr_has(&t->v[i], ip))
            return true;
    return false;
}

/* One "addr[/bits]" entry. */
static bool parse_cidr(const char *p, size_t len, struct ingress_cidr *c)
{
    const char *slash = memchr(p, '/', len);
    size_t alen = slash ? (size_t)(slash - p) : len;
    if (!ingress_ip_parse(p, alen, &c->net))
        return false;
    bool v4 = memcmp(c->net.b, V4_MAPPED, sizeof V4_MAPPED) == 0 && memchr(p, '.', alen);
    unsigned max = v4 ? 32 : 128, bits = max;
    if (slash) {
        size_t n = len - alen - 1;
        if (n == 0 || n > 3)
            return false;
        bits = 0;
        for (size_t i = 0; i < n; i++) {
            char ch = slash[1 + i];
            if (ch < '0' || ch > '9')
                return false;
            bits = bits * 10 + (unsigned)(ch - '0');
        }
        if (bits > max)
            return false;
    }
    c->bits = v4 ? bits + 96 : bits;
    /* Host bits are cleared so "10.1.2.3/8" means 10.0.0.0/8. */
    for (unsigned i = c->bits; i < 128; i++)
        c->net.b[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
    return true;
}

enum sg_err ingress_trusted_parse(const char *list, struct ingress_trusted *t, char *err,
                                  size_t errlen)
{
    t->v = NULL;
    t->n = 0;
    const char *p = list ? list : "";
    size_t cap = 0;
    while (*p) {
        size_t skip = strspn(p, ", \t");
        p += skip;
        size_t len = strcspn(p, ", \t");
        if (!len)
            break;
        if (t->n == cap) {
            cap = cap ? cap * 2 : 8;
            struct ingress_cidr *v = realloc(t->v, cap * sizeof *v);
            if (!v) {
                ingress_trusted_free(t);
                snprintf(err, errlen, "out of memory");
                return SG_ERR_NOMEM;
            }
            t->v = v;
        }
        if (!parse_cidr(p, len, &t->v[t->n])) {
            snprintf(err, errlen, "expected a comma-separated list of CIDRs, got \"%.*s\"",
                     (int)(len < 60 ? len : 60), p);
            ingress_trusted_free(t);
            return SG_ERR_CONFIG;
        }
        t->n++;
        p += len;
    }
    return SG_OK;
}

void ingress_trusted_free(struct ingress_trusted *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

#define XFF_LINES_MAX 16

/* The values of the X-Forwarded-For lines of a raw head, in order; returns how many. */
static size_t find_xff(const char *head, size_t len, const char *val[], size_t vlen[])
{
    static const char NAME[] = "x-forwarded-for:";
    const size_t nlen = sizeof NAME - 1;
    size_t n = 0;
    const char *end = head + len;
    const char *line = memchr(head, '\n', len); /* skip the request line */
    while (line && ++line < end && n < XFF_LINES_MAX) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t ll = eol ? (size_t)(eol - line) : (size_t)(end - line);
        if (ll > nlen && strncasecmp(line, NAME, nlen) == 0) {
            val[n] = line + nlen;
            vlen[n] = ll - nlen;
            if (vlen[n] && val[n][vlen[n] - 1] == '\r')
                vlen[n]--;
            n++;
        }
        line = eol;
    }
    return n;
}

void ingress_client_addr(const struct ingress_trusted *t, const struct ingress_ip *peer,
                         const char *head, size_t head_len, char *out)
{
    struct ingress_ip cur = *peer;
    if (t->n && ingress_trusted_has(t, peer) && head) {
        const char *val[XFF_LINES_MAX];
        size_t vlen[XFF_LINES_MAX];
        size_t lines = find_xff(head, head_len, val, vlen);
        /* Right to left over the hops of all lines joined: stop at the first untrusted one. */
        for (size_t l = lines; l-- > 0;) {
            size_t e = vlen[l];
            for (;;) {
                size_t b = e;
                while (b > 0 && val[l][b - 1] != ',')
                    b--;
                struct ingress_ip hop;
                if (e > b) {
                    if (!ingress_ip_parse(val[l] + b, e - b, &hop))
                        goto done;
                    cur = hop;
                    if (!ingress_trusted_has(t, &hop))
                        goto done;
                }
                if (b == 0)
                    break;
                e = b - 1;
            }
        }
    }
done:
    ingress_ip_format(&cur, out);
}
