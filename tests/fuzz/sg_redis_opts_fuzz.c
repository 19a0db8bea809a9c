/* Why: the Redis settings and the replies that choose the primary come from outside the process
 * (the environment, and sentinels or servers on the network), so their parsers are fuzzed:
 * REDIS_URL (redis://, rediss://, unix://), the REDIS_SENTINELS list, and any RESP bytes read by
 * hiredis's reader and then interpreted as a SENTINEL get-master-addr-by-name answer, a ROLE answer
 * or an error that asks for a failover.
 *
 * First input byte: 0 = URL, 1 = sentinel list, else RESP replies. */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg_redis_opts.h"
#include "sg_url.h"
#include "sg_redis_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char err[256];
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] == 0) {
        struct sg_redis_url u;
        if (sg_redis_url_parse(text, &u, err, sizeof err) == SG_OK) {
            if (!u.unix_path && (!u.host || u.port < 1 || u.port > 65535))
                abort();
            sg_redis_url_clear(&u);
        }
    } else if (data[0] == 1) {
        struct sg_hostport *hp;
        size_t n;
        if (sg_hostports_parse(text, &hp, &n, err, sizeof err) == SG_OK) {
            for (size_t i = 0; i < n; i++)
                if (!hp[i].host[0] || hp[i].port < 1 || hp[i].port > 65535)
                    abort();
            sg_hostports_free(hp, n);
        }
    } else {
        redisReader *r = sg_redis_reader_new();
        redisReaderFeed(r, (const char *)data + 1, size - 1);
        void *rep = NULL;
        while (redisReaderGetReply(r, &rep) == REDIS_OK && rep) {
            redisReply *reply = rep;
            char host[64];
            int port;
            if (sg_sentinel_master_addr(reply, host, sizeof host, &port) &&
                (strlen(host) == 0 || port < 1 || port > 65535))
                abort();
            (void)sg_redis_role_str(sg_redis_role_of(reply));
            if (reply->type == REDIS_REPLY_ERROR)
                (void)sg_redis_error_wants_failover(reply->str);
            freeReplyObject(reply);
            rep = NULL;
        }
        redisReaderFree(r);
    }
    free(text);
    return 0;
}
