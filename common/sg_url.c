/* Why: see sg_url.h. */
#include "sg_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_config.h"

/* %XX decoding for user info (passwords often carry reserved characters). */
static char *pct_decode(const char *s, size_t len)
{
    char *o = malloc(len + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len) {
            char hx[3] = {s[i + 1], s[i + 2], 0};
            char *end;
            long v = strtol(hx, &end, 16);
            if (*end == '\0') {
                o[j++] = (char)v;
                i += 2;
                continue;
            }
        }
        o[j++] = s[i];
    }
    o[j] = '\0';
    return o;
}

void sg_redis_url_clear(struct sg_redis_url *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->unix_path);
    free(u->username);
    free(u->password);
    memset(u, 0, sizeof *u);
}

enum sg_err sg_redis_url_parse(const char *url, struct sg_redis_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    const char *p;
    if (strncmp(url, "redis://", 8) == 0) {
        p = url + 8;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        p = url + 9;
        out->tls = true;
    } else if (strncmp(url, "unix://", 7) == 0 || strncmp(url, "redis+unix://", 13) == 0) {
        p = strstr(url, "://") + 3;
        const char *q = strchr(p, '?');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == 0 || p[0] != '/') {
            snprintf(err, errlen, "expected unix:///path/to/redis.sock");
            return SG_ERR_CONFIG;
        }
        out->unix_path = strndup(p, len);
        if (q && strncmp(q, "?db=", 4) == 0) {
            int64_t db;
            if (!sg_parse_i64(q + 4, 0, 1000000, &db)) {
                snprintf(err, errlen, "bad database number in URL");
                sg_redis_url_clear(out);
                return SG_ERR_CONFIG;
            }
            out->db = (int)db;
        }
        return out->unix_path ? SG_OK : SG_ERR_NOMEM;
    } else {
        snprintf(err, errlen, "expected redis://host:port/db or rediss:// (TLS)");
        return SG_ERR_CONFIG;
    }
    const char *at = strrchr(p, '@');
    const char *slash = strchr(p, '/');
    if (at && (!slash || at < slash)) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (colon > p)
                out->username = pct_decode(p, (size_t)(colon - p));
            out->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        } else {
            out->password = pct_decode(p, (size_t)(at - p));
        }
        p = at + 1;
        slash = strchr(p, '/');
    }
    size_t hostport_len = slash ? (size_t)(slash - p) : strlen(p);
    const char *hp_end = p + hostport_len;
    const char *host_start = p, *host_end;
    const char *port_str = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', hostport_len);
        if (!rb) {
            snprintf(err, errlen, "unclosed [ in host");
            goto fail;
        }
        host_start = p + 1;
        host_end = rb;
        if (rb + 1 < hp_end && rb[1] == ':')
            port_str = rb + 2;
    } else {
        const char *colon = memchr(p, ':', hostport_len);
        host_end = colon ? colon : hp_end;
        if (colon)
            port_str = colon + 1;
    }
    if (host_end == host_start) {
        snprintf(err, errlen, "missing host");
        goto fail;
    }
    out->host = strndup(host_start, (size_t)(host_end - host_start));
    if (port_str) {
        char tmp[16];
        size_t plen = (size_t)(hp_end - port_str);
        int64_t port;
        if (plen == 0 || plen >= sizeof tmp) {
            snprintf(err, errlen, "bad port");
            goto fail;
        }
        memcpy(tmp, port_str, plen);
        tmp[plen] = '\0';
        if (!sg_parse_i64(tmp, 1, 65535, &port)) {
            snprintf(err, errlen, "bad port \"%s\"", tmp);
            goto fail;
        }
        out->port = (int)port;
    }
    if (slash && slash[1]) {
        int64_t db;
        if (!sg_parse_i64(slash + 1, 0, 1000000, &db)) {
            snprintf(err, errlen, "bad database number \"%.20s\"", slash + 1);
            goto fail;
        }
        out->db = (int)db;
    }
    if (!out->host)
        goto fail;
    return SG_OK;
fail:
    sg_redis_url_clear(out);
    return SG_ERR_CONFIG;
}
