/* Why: who the client of a request is decides whom the failed-signature limiter blocks and what
 * the logs say, so the CIDR matching and the X-Forwarded-For walk (rightmost untrusted hop, over
 * every header line, IPv4 and IPv6, mapped addresses) are pinned here case by case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ingress_client.h"

static struct ingress_ip ip(const char *text)
{
    struct ingress_ip a;
    assert_true(ingress_ip_parse(text, strlen(text), &a));
    return a;
}

static void test_trusted_parse(void **state)
{
    (void)state;
    struct ingress_trusted t;
    char err[200];
    assert_int_equal(ingress_trusted_parse("", &t, err, sizeof err), SG_OK);
    assert_int_equal(t.n, 0);
    assert_int_equal(
        ingress_trusted_parse(" 10.0.0.0/8,192.168.1.7  2001:db8::/32,", &t, err, sizeof err),
        SG_OK);
    assert_int_equal(t.n, 3);
    struct ingress_ip a = ip("10.200.3.4"), b = ip("11.0.0.1"), c = ip("192.168.1.7"),
                      d = ip("192.168.1.8"), e = ip("2001:db8:ffff::1"), f = ip("2001:db9::1"),
                      g = ip("::ffff:10.9.9.9");
    assert_true(ingress_trusted_has(&t, &a));
    assert_false(ingress_trusted_has(&t, &b));
    assert_true(ingress_trusted_has(&t, &c)); /* a bare address is one host */
    assert_false(ingress_trusted_has(&t, &d));
    assert_true(ingress_trusted_has(&t, &e));
    assert_false(ingress_trusted_has(&t, &f));
    assert_true(ingress_trusted_has(&t, &g)); /* a dual-stack listener's mapped IPv4 peer */
    ingress_trusted_free(&t);

    /* host bits are ignored; odd prefix lengths match bit by bit */
    assert_int_equal(ingress_trusted_parse("10.1.2.3/9", &t, err, sizeof err), SG_OK);
    struct ingress_ip in = ip("10.127.0.1"), out = ip("10.128.0.1");
    assert_true(ingress_trusted_has(&t, &in));
    assert_false(ingress_trusted_has(&t, &out));
    ingress_trusted_free(&t);

    static const char *const BAD[] = {"10.0.0.0/33", "10.0.0.0/", "nope", "::/129", "1.2.3.4/x"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        assert_int_equal(ingress_trusted_parse(BAD[i], &t, err, sizeof err), SG_ERR_CONFIG);
        assert_non_null(strstr(err, BAD[i]));
        assert_null(t.v);
    }
}

/* The client of a request with the given head from peer, behind "10.0.0.0/8, fd00::/8". */
static const char *client(const char *peer, const char *head)
{
    static char out[INGRESS_ADDR_MAX];
    struct ingress_trusted t;
    char err[100];
    assert_int_equal(ingress_trusted_parse("10.0.0.0/8, fd00::/8", &t, err, sizeof err), SG_OK);
    struct ingress_ip p = ip(peer);
    ingress_client_addr(&t, &p, head, strlen(head), out);
    ingress_trusted_free(&t);
    return out;
}

static void test_forwarded_for(void **state)
{
    (void)state;
#define REQ "POST /webhooks/github HTTP/1.1\r\nHost: x\r\n"
    /* an untrusted peer's header is ignored */
    assert_string_equal(client("198.51.100.1", REQ "X-Forwarded-For: 203.0.113.5\r\n\r\n"),
                        "198.51.100.1");
    /* a trusted peer without the header is the client */
    assert_string_equal(client("10.0.0.2", REQ "\r\n"), "10.0.0.2");
    /* the rightmost untrusted hop, whatever the client wrote to its left */
    assert_string_equal(
        client("10.0.0.2", REQ "x-forwarded-for: 1.1.1.1, 203.0.113.5 ,10.3.3.3\r\n\r\n"),
        "203.0.113.5");
    /* several header lines form one list, in order */
    assert_string_equal(client("10.0.0.2", REQ "X-Forwarded-For: 1.1.1.1\r\nAccept: */*\r\n"
                                               "X-Forwarded-For: 10.4.4.4\r\n\r\n"),
                        "1.1.1.1");
    /* all hops trusted: the leftmost */
    assert_string_equal(client("10.0.0.2", REQ "X-Forwarded-For: 10.9.9.9, 10.8.8.8\r\n\r\n"),
                        "10.9.9.9");
    /* IPv6 hops and peers, printed canonically; mapped IPv4 printed as IPv4 */
    assert_string_equal(client("fd00::1", REQ "X-Forwarded-For: 2001:DB8::7, fd00::9\r\n\r\n"),
                        "2001:db8::7");
    assert_string_equal(client("::ffff:10.0.0.2", REQ "X-Forwarded-For: 192.0.2.1\r\n\r\n"),
                        "192.0.2.1");
    /* a hop that does not parse ends the walk at the last good address */
    assert_string_equal(client("10.0.0.2", REQ "X-Forwarded-For: 192.0.2.1, junk\r\n\r\n"),
                        "10.0.0.2");
    assert_string_equal(client("10.0.0.2", REQ "X-Forwarded-For: junk, 10.1.1.1\r\n\r\n"),
                        "10.1.1.1");
    assert_string_equal(client("10.0.0.2", REQ "X-Forwarded-For:\r\n\r\n"), "10.0.0.2");
    /* a header merely ending in the name is not it */
    assert_string_equal(client("10.0.0.2", REQ "My-X-Forwarded-For: 192.0.2.1\r\n\r\n"),
                        "10.0.0.2");
#undef REQ
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_trusted_parse),
                                       cmocka_unit_test(test_forwarded_for)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
