/* Why: wall-clock milliseconds for job timestamps and Redis scores, monotonic ones for durations.
 */
#ifndef SG_TIME_H
#define SG_TIME_H

#include <stdint.h>

int64_t sg_now_ms(void);  /* unix time in ms (CLOCK_REALTIME) */
int64_t sg_mono_ms(void); /* CLOCK_MONOTONIC in ms */
int64_t sg_mono_us(void); /* CLOCK_MONOTONIC in us */

#endif
