/* Why: the Redis key names are a contract with operators (redis-cli) and tests (DESIGN.md
 * section 3); they are spelled once, here. */
#ifndef SG_KEYS_H
#define SG_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define SG_KEY_QUEUE             "analysis_queue"
#define SG_KEY_PROCESSING_PREFIX "analysis_queue:processing:"
#define SG_KEY_WORKERS           "analysis_queue:workers"
#define SG_KEY_DELAYED           "analysis_queue:delayed"
#define SG_KEY_DEAD              "analysis_queue:dead"
#define SG_KEY_DELIVERY_PREFIX   "webhook:delivery:"
/* "webhook:signature:<64 lower-case hex>": the replay marker. The delivery id is not signed, so a
 * captured body re-sent under new ids would pass the delivery marker; its signature is a function
 * of the body alone and is remembered as long as the delivery id (DEDUPE_TTL_S). */
#define SG_KEY_SIGNATURE_PREFIX "webhook:signature:"
#define SG_KEY_TOKEN_PREFIX     "github:token:"

/* "analysis_queue:processing:<worker_id>"; returns snprintf's length (>= n means truncated). */
int sg_key_processing(char *out, size_t n, const char *worker_id);
/* "github:token:<installation_id>" */
int sg_key_token(char *out, size_t n, int64_t installation_id);

#endif
