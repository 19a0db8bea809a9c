/* Why: the worker feeds the engine whatever chunks libcurl delivers, and the tarball comes from
 * the outside world. These tests pin the tar/gzip layer: GitHub's layout (pax global header, one
 * top folder), GNU and pax long names, any chunking, and every hostile case giving a clear result
 * or error: "../" and absolute names, links, devices, FIFOs, a gzip bomb, truncation, garbage,
 * invalid UTF-8, NUL bytes, and each configurable limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "an_tar.h"

static const char *C_FILE =
    "/* TODO c */\nint main(void)\n{\n\tif (1) return 0;\n\n\treturn 1;\n}\n";

static void github_tar(struct tb *t)
{
    tb_pax(t, 'g', "comment", "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    tb_entry(t, "octo-Hello-ec26c3e/", '5', NULL, 0);
    tb_file(t, "octo-Hello-ec26c3e/README", "Hello\n");
    tb_entry(t, "octo-Hello-ec26c3e/src/", '5', NULL, 0);
    tb_file(t, "octo-Hello-ec26c3e/src/main.c", C_FILE);
    tb_file(t, "octo-Hello-ec26c3e/src/tool.py", "# c\nimport os\n");
    tb_end(t);
}

static void test_github_layout_any_chunking(void **st)
{
    (void)st;
    struct tb t = {0};
    github_tar(&t);
    size_t gl;
    unsigned char *gz = tb_gzip(t.d, t.len, &gl);
    struct an_options o = {0};
    char err[256];
    size_t chunks[] = {1, 2, 3, 7, 511, 512, 513, 4096, 0, 1 << 20};
    char *first = NULL;
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        struct an_result *r = NULL;
        assert_int_equal(tb_analyze(gz, gl, chunks[i], &o, &r, err, sizeof err), SG_OK);
        assert_int_equal(r->totals.files, 2);
        const struct an_language *c = tb_lang(r, "C");
        assert_non_null(c);
        assert_int_equal(c->counts.code, 5);
        assert_int_equal(c->counts.comment, 1);
        assert_int_equal(c->counts.blank, 1);
        assert_int_equal(c->counts.complexity, 1);
        assert_int_equal(tb_find(r, "MNT001", "src/main.c"), 1); /* top folder removed */
        struct sg_buf b;
        sg_buf_init(&b, 0);
        assert_int_equal(an_result_json(r, &b), SG_OK);
        if (!first)
            first = sg_buf_detach(&b);
        else
            assert_string_equal(first, sg_buf_str(&b)); /* identical whatever the chunking */
        sg_buf_free(&b);
        an_result_free(r);
    }
    free(first);
    free(gz);
    free(t.d);
}

static void test_gnu_longlink_and_pax_path(void **st)
{
    (void)st;
    char longp[300];
    snprintf(longp, sizeof longp, "top/%0200d/deep.c", 7);
    struct tb t = {0};
    tb_entry(&t, "././@LongLink", 'L', longp, strlen(longp) + 1);
    tb_file(&t, "top/truncated-name-ignored", C_FILE);
    char paxp[300];
    snprintf(paxp, sizeof paxp, "top/%0180d/pax.py", 9);
    tb_pax(&t, 'x', "path", paxp);
    tb_file(&t, "top/also-ignored", "x = 1 # TODO\n");
    tb_end(&t);
    struct an_options o = {0};
    struct an_result *r;
    char err[256];
    assert_int_equal(tb_run(&t, &o, &r, err, sizeof err), SG_OK);
    assert_int_equal(r->totals.files, 2);
    assert_non_null(tb_lang(r, "C"));
    assert_non_null(tb_lang(r, "Python"));
    assert_int_equal(tb_find(r, "MNT001", longp + 4), 1);
    assert_int_equal(tb_find(r, "MNT001", paxp + 4), 1);
    an_result_free(r);
    free(t.d);
}

static void test_unsafe_entries_never_read(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "top/../evil.c", "int evil; \n");
    tb_file(&t, "/abs.c", "int abs; \n");
    tb_file(&t, "top/a/../../x.c", "int x; \n");
    tb_entry(&t, "top/link.c", '2', NULL, 0);
    tb_entry(&t, "top/hard.c", '1', NULL, 0);
    tb_entry(&t, "top/dev-char", '3', NULL, 0);
    tb_entry(&t, "top/dev-block", '4', NULL, 0);
    tb_entry(&t, "top/fifo", '6', NULL, 0);
    /* a hard link entry with a body must not be read as the file either */
    tb_entry(&t, "top/hard2.c", '1', "int h; \n", 8);
    tb_file(&t, "top/ok.c", "int ok;\n");
    tb_end(&t);
    struct an_result *r;
    char err[256];
    assert_int_equal(tb_run(&t, NULL, &r, err, sizeof err), SG_OK);
    assert_int_equal(r->skipped.unsafe, 9);
    assert_int_equal(r->totals.files, 1);
    assert_int_equal(tb_rule(r, "STY002"), 0); /* none of the unsafe bodies was analysed */
    an_result_free(r);
    free(t.d);
}

static void test_gzip_bomb_hits_total_limit(void **st)
{
    (void)st;
    size_t n = 32u << 20; /* 32 MiB of zeros compresses to ~32 KiB */
    unsigned char *zeros = calloc(1, n);
    struct tb t = {0};
    tb_entry(&t, "top/bomb.txt", '0', zeros, n);
    tb_end(&t);
    free(zeros);
    size_t gl;
    unsigned char *gz = tb_gzip(t.d, t.len, &gl);
    assert_true(gl < 200 * 1024);
    struct an_options o = {0};
    o.limits.max_total_bytes = 8u << 20;
    struct an_result *r = NULL;
    char err[256];
    assert_int_equal(tb_analyze(gz, gl, 65536, &o, &r, err, sizeof err), SG_ERR_TOO_LARGE);
    assert_null(r);
    assert_non_null(strstr(err, "max_total_bytes"));
    free(gz);
    free(t.d);
}

static void test_truncated_streams(void **st)
{
    (void)st;
    struct tb t = {0};
    github_tar(&t);
    size_t gl;
    unsigned char *gz = tb_gzip(t.d, t.len, &gl);
    struct an_result *r = NULL;
    char err[256];
    /* cut inside the deflate data */
    assert_int_equal(tb_analyze(gz, gl / 2, 100, NULL, &r, err, sizeof err), SG_ERR_PARSE);
    assert_non_null(strstr(err, "truncated"));
    /* cut in the 8-byte trailer */
    assert_int_equal(tb_analyze(gz, gl - 3, 100, NULL, &r, err, sizeof err), SG_ERR_PARSE);
    assert_non_null(strstr(err, "truncated"));
    free(gz);
    /* a complete gzip of a tar that stops inside a file */
    gz = tb_gzip(t.d, 512 * 3 + 100, &gl);
    assert_int_equal(tb_analyze(gz, gl, 100, NULL, &r, err, sizeof err), SG_ERR_PARSE);
    assert_non_null(strstr(err, "truncated tar stream"));
    free(gz);
    free(t.d);
    /* empty input */
    assert_int_equal(tb_analyze((const unsigned char *)"", 0, 1, NULL, &r, err, sizeof err),
                     SG_ERR_PARSE);
    assert_non_null(strstr(err, "empty"));
}

static void test_garbage_and_corrupt_headers(void **st)
{
    (void)st;
    struct an_result *r = NULL;
    char err[256];
    const char *txt = "this is not gzip at all";
    assert_int_equal(
        tb_analyze((const unsigned char *)txt, strlen(txt), 4, NULL, &r, err, sizeof err),
        SG_ERR_PARSE);
    assert_non_null(strstr(err, "not a gzip stream"));

    /* corrupt deflate data after a valid gzip header */
    struct tb t = {0};
    github_tar(&t);
    size_t gl;
    unsigned char *gz = tb_gzip(t.d, t.len, &gl);
    for (size_t i = 20; i < 60 && i < gl; i++)
        gz[i] ^= 0x5a;
    enum sg_err e = tb_analyze(gz, gl, 64, NULL, &r, err, sizeof err);
    assert_int_equal(e, SG_ERR_PARSE);
    assert_null(r);
    free(gz);

    /* a tar header with a wrong checksum */
    t.d[1024 + 148] ^= 1; /* the first header after the pax global header and its record */
    gz = tb_gzip(t.d, t.len, &gl);
    assert_int_equal(tb_analyze(gz, gl, 64, NULL, &r, err, sizeof err), SG_ERR_PARSE);
    assert_non_null(strstr(err, "checksum"));
    free(gz);
    free(t.d);

    /* after an error, feeding again returns the same error */
    struct an_session *an = an_new(NULL);
    assert_int_equal(an_feed(an, "xx", 2), SG_ERR_PARSE);
    assert_int_equal(an_feed(an, "\x1f\x8b", 2), SG_ERR_PARSE);
    assert_int_equal(an_finish(an, &r), SG_ERR_PARSE);
    an_free(an);
}

static void test_invalid_utf8_and_nul(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "top/bad\xff\xfename.c", "int a; /* \xc3\x28 invalid \xff */ \n");
    tb_entry(&t, "top/nul.c", '0', "int a;\n\0\0int b;\n", 16);
    tb_end(&t);
    struct an_result *r;
    char err[256];
    assert_int_equal(tb_run(&t, NULL, &r, err, sizeof err), SG_OK);
    assert_int_equal(r->skipped.binary, 1);
    assert_int_equal(r->totals.files, 1);
    assert_int_equal(tb_rule(r, "STY002"), 1);
    struct sg_buf b;
    sg_buf_init(&b, 0);
    assert_int_equal(an_result_json(r, &b), SG_OK);
    /* the invalid bytes of the path come out as U+FFFD, so the JSON stays valid UTF-8 */
    assert_non_null(strstr(sg_buf_str(&b), "bad\\ufffd\\ufffdname.c"));
    assert_null(strstr(sg_buf_str(&b), "\xff"));
    sg_buf_free(&b);
    an_result_free(r);
    free(t.d);
}

static void test_limits(void **st)
{
    (void)st;
    struct tb t = {0};
    for (int i = 0; i < 20; i++) {
        char name[64];
        snprintf(name, sizeof name, "top/f%02d.c", i);
        tb_file(&t, name, "int a;\n");
    }
    char longp[200];
    snprintf(longp, sizeof longp, "top/%090d.c", 1);
    tb_file(&t, longp, "int a;\n");
    char big[5000];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\n';
    tb_entry(&t, "top/big.c", '0', big, sizeof big);
    tb_end(&t);
    struct an_result *r = NULL;
    char err[256];

    struct an_options o = {0};
    o.limits.max_files = 10;
    assert_int_equal(tb_run(&t, &o, &r, err, sizeof err), SG_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "max_files"));

    memset(&o, 0, sizeof o);
    o.limits.max_path_len = 50;
    o.limits.max_file_bytes = 4096;
    assert_int_equal(tb_run(&t, &o, &r, err, sizeof err), SG_OK);
    assert_int_equal(r->skipped.unsafe, 1);    /* the 93-character path */
    assert_int_equal(r->skipped.too_large, 1); /* big.c */
    assert_int_equal(r->totals.files, 20);
    an_result_free(r);
    free(t.d);
}

static void test_plain_tar_gz_of_dot(void **st)
{
    (void)st;
    /* `tar -C dir -czf x.tar.gz .` names entries "./a.c": the "." folder is the top folder */
    struct tb t = {0};
    tb_entry(&t, "./", '5', NULL, 0);
    tb_file(&t, "./a.c", "int a; // TODO\n");
    tb_file(&t, "./sub/b.c", "int b; // TODO\n");
    tb_end(&t);
    struct an_options o = {0};
    struct an_result *r;
    char err[256];
    assert_int_equal(tb_run(&t, &o, &r, err, sizeof err), SG_OK);
    assert_int_equal(r->totals.files, 2);
    assert_int_equal(tb_find(r, "MNT001", "a.c"), 1);
    assert_int_equal(tb_find(r, "MNT001", "sub/b.c"), 1);
    an_result_free(r);
    free(t.d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_github_layout_any_chunking),
        cmocka_unit_test(test_gnu_longlink_and_pax_path),
        cmocka_unit_test(test_unsafe_entries_never_read),
        cmocka_unit_test(test_gzip_bomb_hits_total_limit),
        cmocka_unit_test(test_truncated_streams),
        cmocka_unit_test(test_garbage_and_corrupt_headers),
        cmocka_unit_test(test_invalid_utf8_and_nul),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_plain_tar_gz_of_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
