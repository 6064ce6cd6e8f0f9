/* SPDX-License-Identifier: MIT */
/* shimcsv.c: shim's fallback CSV (DESIGN.md §11b L8), on the CSVs distributions ship. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shimcsv.h"
#include "util/fileio.h"

static int parse_fixture(const char *name, struct shimcsv *c, char **why)
{
        const char *f = getenv("FIXTURES");
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size;

        assert_non_null(f);
        assert_true(asprintf(&path, "%s/shimcsv/%s", f, name) >= 0);
        assert_int_equal(read_full_file(path, SHIMCSV_MAX, &text, &size), 0);
        return shimcsv_parse(text, size, c, why);
}

static void test_debian(void **state)
{
        _cleanup_(shimcsv_done) struct shimcsv c = {};
        _cleanup_free_ char *why = NULL;

        assert_int_equal(parse_fixture("debian-BOOTX64.CSV", &c, &why), 0);
        assert_int_equal(c.n, 1);
        assert_string_equal(c.lines[0].file, "shimx64.efi");
        assert_string_equal(c.lines[0].label, "debian");
        assert_string_equal(c.lines[0].options, "");
        assert_int_equal(c.lines[0].line, 1);
}

static void test_fedora_crlf_blank_lines(void **state)
{
        _cleanup_(shimcsv_done) struct shimcsv c = {};
        _cleanup_free_ char *why = NULL;

        assert_int_equal(parse_fixture("fedora-BOOTX64.CSV", &c, &why), 0);
        assert_int_equal(c.n, 2);
        assert_string_equal(c.lines[0].label, "Fedora");
        assert_string_equal(c.lines[1].file, "mmx64.efi");
        assert_string_equal(c.lines[1].options, "\\mmx64.efi --verbose");
        assert_int_equal(c.lines[1].line, 3);
}

static void test_unicode_without_bom(void **state)
{
        _cleanup_(shimcsv_done) struct shimcsv c = {};
        _cleanup_free_ char *why = NULL;

        assert_int_equal(parse_fixture("nobom-unicode.CSV", &c, &why), 0);
        assert_int_equal(c.n, 1);
        assert_string_equal(c.lines[0].label, "D\xc3\xa9"
                                              "bian \xc3\xbcn\xc3\xaf"
                                              "code");
}

static void test_hostile(void **state)
{
        static const struct {
                const char *data;
                size_t size;
                const char *why;
        } bad[] = {
                { "shimx64.efi,debian,,x\n", 22, "an ASCII or UTF-8 file, not UCS-2" },
                { "\xff\xfe\x61", 3, "an odd number" },
                { "\xff\xfe\x61\x00\x00\x00", 6, "line 1: a NUL character" },
                { "\xff\xfe\x61\x00\x2c\x00\x62\x00\x0a\x00\x00\xd8", 12,
                  "line 2: U+D800, a UTF-16 surrogate" },
                { "\xff\xfe\x61\x00\x62\x00", 6, "line 1: \"ab\" is not \"file,label" },
                { "\xff\xfe\x61\x00\x2c\x00", 6, "line 1: \"a,\" is not" },
                { "\xff\xfe\x2c\x00\x61\x00", 6, "line 1: \",a\" is not" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct shimcsv c = {};
                char *why = NULL;

                assert_int_equal(shimcsv_parse(bad[i].data, bad[i].size, &c, &why), -EBADMSG);
                if (!strstr(why, bad[i].why))
                        fail_msg("case %zu: \"%s\" does not say \"%s\"", i, why, bad[i].why);
                free(why);
        }
        {
                _cleanup_free_ char *big = calloc(1, SHIMCSV_MAX + 2), *why = NULL;
                struct shimcsv c = {};

                assert_non_null(big);
                assert_int_equal(shimcsv_parse(big, SHIMCSV_MAX + 2, &c, &why), -EBADMSG);
        }
        {
                struct shimcsv c = {};
                char *why = NULL;

                /* Empty and blank-only files hold no entry. */
                assert_int_equal(shimcsv_parse("", 0, &c, &why), 0);
                assert_int_equal(c.n, 0);
                assert_int_equal(shimcsv_parse("\xff\xfe\x0d\x00\x0a\x00", 6, &c, &why), 0);
                assert_int_equal(c.n, 0);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_debian),
                cmocka_unit_test(test_fedora_crlf_blank_lines),
                cmocka_unit_test(test_unicode_without_bom),
                cmocka_unit_test(test_hostile),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
