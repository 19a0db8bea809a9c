/* Why: the analysis must stay within 64 MB whatever the file count, since an archive of a million
 * empty files is only a few megabytes compressed. This program streams such an archive straight
 * from a generator into the engine (never holding the archive itself) and checks its own peak
 * RSS; it runs alone so no other test's allocations count. Files before .singularity.yml's place
 * in the order are included too: those are held back or kept as provisional records. Then a
 * findings bomb (files of a finding on every 3-byte line, each finding keeping a fingerprint):
 * the analysis stops at max_total_findings with its message, still within 64 MB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "an_tarball.h"
#include "sg_time.h"

#if defined(__SANITIZE_ADDRESS__)
#define SG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SG_SANITIZED 1
#endif
#endif

#define NFILES 999990u
#define NEARLY 150000u /* named to sort before .singularity.yml */

struct gen {
    z_stream zs;
    struct an_session *an;
    unsigned char out[1 << 16];
    enum sg_err e;
};

static void gen_push(struct gen *g, const unsigned char *d, size_t n, int flush)
{
    g->zs.next_in = (Bytef *)(uintptr_t)d;
    g->zs.avail_in = (uInt)n;
    do {
        g->zs.next_out = g->out;
        g->zs.avail_out = sizeof g->out;
        int ret = deflate(&g->zs, flush);
        assert_true(ret == Z_OK || ret == Z_STREAM_END || ret == Z_BUF_ERROR);
        size_t have = sizeof g->out - g->zs.avail_out;
        if (have && !g->e)
            g->e = an_feed(g->an, g->out, have);
    } while (g->zs.avail_out == 0 || (flush == Z_FINISH && g->zs.avail_in));
}

/* A gzip stream straight into a new analysis. */
static void gen_open(struct gen *g)
{
    memset(g, 0, sizeof *g);
    assert_int_equal(deflateInit2(&g->zs, 1, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    g->an = an_new(NULL);
    assert_non_null(g->an);
}

/* This process's peak RSS so far is under 64 MB (not under the sanitizers, whose shadow memory
 * counts too). */
static void assert_peak_under_64_mb(const char *what)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    print_message("%s: peak RSS %ld KB\n", what, ru.ru_maxrss);
#ifndef SG_SANITIZED
    assert_true(ru.ru_maxrss < 64 * 1024);
#endif
}

static void test_a_million_empty_files_stay_under_64_mb(void **st)
{
    (void)st;
    struct gen g;
    gen_open(&g);
    int64_t t0 = sg_mono_ms();
    struct tb t = {0};
    char name[100];
    for (unsigned i = 0; i < NFILES; i++) {
        if (i < NEARLY)
            snprintf(name, sizeof name, "top/.a/%06u", i);
        else
            snprintf(name, sizeof name, "top/src/d%03u/f%06u.c", i / 1000 % 1000, i);
        tb_entry(&t, name, '0', NULL, 0);
        if (t.len >= 256 * 512) {
            gen_push(&g, t.d, t.len, Z_NO_FLUSH);
            t.len = 0;
        }
    }
    tb_end(&t);
    gen_push(&g, t.d, t.len, Z_FINISH);
    print_message("%lu bytes compressed\n", (unsigned long)g.zs.total_out);
    deflateEnd(&g.zs);
    free(t.d);
    assert_int_equal(g.e, SG_OK);
    struct an_result *r = NULL;
    assert_int_equal(an_finish(g.an, &r), SG_OK);
    assert_int_equal(r->totals.files, NFILES - NEARLY); /* the .c files; the others are text */
    an_result_free(r);
    an_free(g.an);
    print_message("%u files: %lld ms\n", NFILES, (long long)(sg_mono_ms() - t0));
    assert_peak_under_64_mb("a million empty files");
}

/* 16 MiB files of "x \n" lines: 5.6 million findings (STY002) each, 2 million allowed. */
static void test_a_findings_bomb_stops_at_the_limit(void **st)
{
    (void)st;
    struct gen g;
    gen_open(&g);
    size_t n = 16u * 1024 * 1024 - 64;
    n -= n % 3;
    unsigned char chunk[3 * 21845]; /* the file is streamed, never held by the test */
    for (size_t i = 0; i < sizeof chunk; i += 3)
        memcpy(chunk + i, "x \n", 3);
    static const unsigned char zeros[512];
    struct tb t = {0};
    for (int f = 0; f < 3 && !g.e; f++) {
        char name[32];
        snprintf(name, sizeof name, "top/bomb%d.py", f);
        tb_entry(&t, name, '0', NULL, n);
        gen_push(&g, t.d, t.len, Z_NO_FLUSH);
        t.len = 0;
        for (size_t off = 0; off < n && !g.e; off += sizeof chunk)
            gen_push(&g, chunk, n - off < sizeof chunk ? n - off : sizeof chunk, Z_NO_FLUSH);
        if (n % 512)
            gen_push(&g, zeros, 512 - n % 512, Z_NO_FLUSH);
    }
    tb_end(&t);
    gen_push(&g, t.d, t.len, Z_FINISH);
    deflateEnd(&g.zs);
    free(t.d);
    struct an_result *r = NULL;
    if (!g.e)
        g.e = an_finish(g.an, &r);
    assert_int_equal(g.e, SG_ERR_TOO_LARGE);
    assert_null(r);
    assert_non_null(
        strstr(an_error(g.an), "more than 2000000 findings (limit max_total_findings)"));
    an_free(g.an);
    assert_peak_under_64_mb("findings bomb, stopped at the limit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_million_empty_files_stay_under_64_mb),
        cmocka_unit_test(test_a_findings_bomb_stops_at_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
