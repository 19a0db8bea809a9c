/* Why: the failed-signature limiter; see ingress_limiter.h. */
#include "ingress_limiter.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct limiter_slot {
    char addr[INET6_ADDRSTRLEN];
    int64_t window_start;
    int64_t count;
};

struct ingress_limiter {
    struct limiter_slot *slots;
    size_t n;
    int64_t limit, window_s;
};

struct ingress_limiter *ingress_limiter_new(size_t slots, int64_t limit, int64_t window_s)
{
    struct ingress_limiter *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->slots = calloc(slots, sizeof *l->slots);
    if (!l->slots) {
        free(l);
        return NULL;
    }
    l->n = slots;
    l->limit = limit;
    l->window_s = window_s;
    return l;
}

void ingress_limiter_free(struct ingress_limiter *l)
{
    if (!l)
        return;
    free(l->slots);
    free(l);
}

static size_t addr_hash(const char *a)
{
    size_t h = 1469598103934665603ull;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 1099511628211ull;
    return h;
}

#define LIMITER_PROBE 8

/* The slot for addr, or (create) a free/expired/oldest one among the probed slots. A bounded
 * table: an attacker with many addresses can only evict entries, never grow memory. */
static struct limiter_slot *limiter_find(struct ingress_limiter *l, const char *addr, int64_t now_s,
                                         bool create)
{
    size_t h = addr_hash(addr);
    struct limiter_slot *victim = NULL;
    for (size_t i = 0; i < LIMITER_PROBE && i < l->n; i++) {
        struct limiter_slot *sl = &l->slots[(h + i) % l->n];
        if (sl->addr[0] && strcmp(sl->addr, addr) == 0)
            return sl;
        if (!create)
            continue;
        bool expired = !sl->addr[0] || now_s - sl->window_start >= l->window_s;
        if (expired) {
            if (!victim || victim->addr[0])
                victim = sl;
        } else if (!victim || (victim->addr[0] && sl->window_start < victim->window_start)) {
            victim = sl;
        }
    }
    if (!create || !victim)
        return NULL;
    snprintf(victim->addr, sizeof victim->addr, "%s", addr);
    victim->window_start = now_s;
    victim->count = 0;
    return victim;
}

void ingress_limiter_fail(struct ingress_limiter *l, const char *addr, int64_t now_s)
{
    struct limiter_slot *sl = limiter_find(l, addr, now_s, true);
    if (!sl)
        return;
    if (now_s - sl->window_start >= l->window_s) {
        sl->window_start = now_s;
        sl->count = 0;
    }
    sl->count++;
}

int64_t ingress_limiter_blocked(struct ingress_limiter *l, const char *addr, int64_t now_s)
{
    struct limiter_slot *sl = limiter_find(l, addr, now_s, false);
    if (!sl || now_s - sl->window_start >= l->window_s || sl->count <= l->limit)
        return 0;
    return sl->window_start + l->window_s - now_s;
}
