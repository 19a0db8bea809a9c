/* Why: see sg_keys.h. */
#include "sg_keys.h"

#include <stdio.h>

int sg_key_processing(char *out, size_t n, const char *worker_id)
{
    return snprintf(out, n, SG_KEY_PROCESSING_PREFIX "%s", worker_id);
}

int sg_key_token(char *out, size_t n, int64_t installation_id)
{
    return snprintf(out, n, SG_KEY_TOKEN_PREFIX "%lld", (long long)installation_id);
}
