/* Why: see sg_redis_reader.h. */
#include "sg_redis_reader.h"

#include <hiredis/hiredis.h>
#include <pthread.h>

static redisReplyObjectFunctions default_fns, bounded_fns;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int have_fns;

/* Returning NULL makes the reader fail with an error the caller sees as a broken connection. */
static void *create_bounded_array(const redisReadTask *t, int elements)
{
    if (elements < 0 || (unsigned)elements > SG_REDIS_MAX_ELEMENTS)
        return NULL;
    return default_fns.createArray(t, elements);
}

static void init_fns(void)
{
    redisReader *r = redisReaderCreate();
    if (!r)
        return;
    default_fns = *r->fn;
    redisReaderFree(r);
    bounded_fns = default_fns;
    bounded_fns.createArray = create_bounded_array;
    have_fns = 1;
}

redisReader *sg_redis_reader_new(void)
{
    pthread_once(&once, init_fns);
    redisReader *r = redisReaderCreate();
    if (r && have_fns)
        r->fn = &bounded_fns;
    return r;
}
