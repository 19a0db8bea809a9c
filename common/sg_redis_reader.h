/* Why: every Redis reply the product parses goes through hiredis 0.14's reader, which allocates an
 * array reply's element table from the count the server sends (`*9777777776` is a 78 GB calloc
 * before a single element arrives). A reader made here refuses a count over
 * SG_REDIS_MAX_ELEMENTS as a protocol error instead, so a broken or hostile server (a sentinel,
 * a primary behind a proxy) costs an error, not the process.
 *
 * Ownership: sg_redis_reader_new() returns a reader freed with redisReaderFree(). */
#ifndef SG_REDIS_READER_H
#define SG_REDIS_READER_H

/* Far above any reply the product asks for (LRANGE of a dead list included) and small enough that
 * the element table stays in the tens of MB. */
#define SG_REDIS_MAX_ELEMENTS (4u << 20)

struct redisReader;

/* A hiredis reader with the element cap; NULL when out of memory. */
struct redisReader *sg_redis_reader_new(void);

#endif
