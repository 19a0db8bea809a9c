/* Why: who the client of a request is. Behind a reverse proxy every connection comes from the
 * proxy, so the failed-signature limiter and the logs would see one address for GitHub and any
 * attacker alike. TRUSTED_PROXIES (a CIDR list) names the proxies whose X-Forwarded-For is
 * believed; the client is then the rightmost hop not in that list (hops further left were written
 * by the client itself and prove nothing). Pure functions, so unit tests drive them directly.
 *
 * Ownership: struct ingress_trusted owns its array (ingress_trusted_free); every other function
 * writes into caller buffers and keeps no pointer. */
#ifndef INGRESS_CLIENT_H
#define INGRESS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"

struct sockaddr;

/* Text of an address: INET6_ADDRSTRLEN. */
#define INGRESS_ADDR_MAX 46

/* Addresses as 16 bytes: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so a dual-stack listener's
 * mapped peers and plain IPv4 entries match the same CIDRs. */
struct ingress_ip {
    uint8_t b[16];
};

struct ingress_cidr {
    struct ingress_ip net;
    unsigned bits; /* prefix length in the 128-bit space */
};

struct ingress_trusted {
    struct ingress_cidr *v;
    size_t n;
};

/* Parses "10.0.0.0/8, 2001:db8::/32, 192.0.2.7" (commas and/or blanks; a bare address is one
 * host). On error *err names the bad entry; t is left empty. */
enum sg_err ingress_trusted_parse(const char *list, struct ingress_trusted *t, char *err,
                                  size_t errlen);
void ingress_trusted_free(struct ingress_trusted *t);
bool ingress_trusted_has(const struct ingress_trusted *t, const struct ingress_ip *ip);

/* Parses one textual IPv4/IPv6 address of len bytes (blanks around it allowed). */
bool ingress_ip_parse(const char *text, size_t len, struct ingress_ip *ip);
/* The peer of an accepted socket; false for other families (unix sockets). */
bool ingress_ip_from_sockaddr(const struct sockaddr *sa, struct ingress_ip *ip);
/* Canonical text (IPv4-mapped addresses as plain IPv4) into out[INGRESS_ADDR_MAX]. */
void ingress_ip_format(const struct ingress_ip *ip, char *out);

/* The request's client: peer itself unless peer is a trusted proxy; then the rightmost
 * X-Forwarded-For hop (over all such header lines of the raw request head) that is not trusted,
 * or the leftmost hop when all are trusted. A hop that does not parse ends the walk (the last
 * good address is kept). Writes canonical text into out[INGRESS_ADDR_MAX]. */
void ingress_client_addr(const struct ingress_trusted *t, const struct ingress_ip *peer,
                         const char *head, size_t head_len, char *out);

#endif
