/* Why: the build tool that serializes the secret rules' Hyperscan database (gen_secrets_db)
 * links the matcher before that database exists: it gets this empty one, and so would any build
 * without the generated an_secrets_db.c (the matcher then compiles the set at start). */
#include "an_secrets.h"

const unsigned char an_sec_db[1];
const size_t an_sec_db_len = 0;
const uint16_t an_sec_db_fallback[1];
const size_t an_sec_db_nfallback = 0;
