/* Why: the failed-signature limiter, on its own so its rules can be read and unit-tested alone: a
 * client address with more than SIGNATURE_FAILURE_LIMIT failed signatures within a window is
 * blocked until the window ends. The server consults it only for requests whose signature does not
 * verify, so a correctly signed delivery is never refused by it (a proxy's address shared by
 * GitHub and an attacker must not lock GitHub out).
 *
 * Ownership: ingress_limiter_new/free; addresses are copied in, never kept by pointer. */
#ifndef INGRESS_LIMITER_H
#define INGRESS_LIMITER_H

#include <stddef.h>
#include <stdint.h>

struct ingress_limiter;

/* A bounded table of slots: many addresses can only evict entries, never grow memory. */
struct ingress_limiter *ingress_limiter_new(size_t slots, int64_t limit, int64_t window_s);
void ingress_limiter_free(struct ingress_limiter *l);
/* Records a failure from addr at now_s. */
void ingress_limiter_fail(struct ingress_limiter *l, const char *addr, int64_t now_s);
/* Seconds addr stays blocked (0: not blocked). */
int64_t ingress_limiter_blocked(struct ingress_limiter *l, const char *addr, int64_t now_s);

#endif
