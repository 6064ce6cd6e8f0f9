/* SPDX-License-Identifier: MIT */
/*
 * src/util/: the UTF-8 check and encoder, the path helpers, JSON strings, string lists,
 * rsync-style exclusions and the failure-context messages. Pure functions: no files, no root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/errmsg.h"
#include "util/exclude.h"
#include "util/json.h"
#include "util/path.h"
#include "util/strv.h"
#include "util/time-util.h"
#include "util/utf8.h"

/* utf8_valid_len() of a string literal, the literal's bytes only. */
#define VALID_LEN(s) utf8_valid_len((const unsigned char *)(s), sizeof(s) - 1)

/* ---------------------------------------------------------------------------------------- */
/* utf8 */

static void test_utf8_accepts_each_length_at_its_bounds(void **state)
{
        assert_int_equal(VALID_LEN("A"), 1);
        assert_int_equal(VALID_LEN("\x7F"), 1);
        assert_int_equal(VALID_LEN("\xC2\x80"), 2);         /* U+0080 */
        assert_int_equal(VALID_LEN("\xDF\xBF"), 2);         /* U+07FF */
        assert_int_equal(VALID_LEN("\xE0\xA0\x80"), 3);     /* U+0800 */
        assert_int_equal(VALID_LEN("\xED\x9F\xBF"), 3);     /* U+D7FF */
        assert_int_equal(VALID_LEN("\xEE\x80\x80"), 3);     /* U+E000 */
        assert_int_equal(VALID_LEN("\xEF\xBF\xBF"), 3);     /* U+FFFF */
        assert_int_equal(VALID_LEN("\xF0\x90\x80\x80"), 4); /* U+10000 */
        assert_int_equal(VALID_LEN("\xF4\x8F\xBF\xBF"), 4); /* U+10FFFF */
        /* Only the first sequence counts. */
        assert_int_equal(VALID_LEN("\xC3\xA9tait"), 2);
}

static void test_utf8_refuses_what_rfc_3629_forbids(void **state)
{
        assert_int_equal(VALID_LEN("\x80"), 0);             /* a continuation byte first */
        assert_int_equal(VALID_LEN("\xC0\xAF"), 0);         /* overlong '/' */
        assert_int_equal(VALID_LEN("\xC1\xBF"), 0);         /* overlong */
        assert_int_equal(VALID_LEN("\xE0\x9F\xBF"), 0);     /* overlong U+07FF */
        assert_int_equal(VALID_LEN("\xF0\x8F\xBF\xBF"), 0); /* overlong U+FFFF */
        assert_int_equal(VALID_LEN("\xED\xA0\x80"), 0);     /* surrogate U+D800 */
        assert_int_equal(VALID_LEN("\xED\xBF\xBF"), 0);     /* surrogate U+DFFF */
        assert_int_equal(VALID_LEN("\xF4\x90\x80\x80"), 0); /* U+110000 */
        assert_int_equal(VALID_LEN("\xF5\x80\x80\x80"), 0);
        assert_int_equal(VALID_LEN("\xFF"), 0);
        assert_int_equal(VALID_LEN("\xE2\x82"), 0);     /* cut short by the length */
        assert_int_equal(VALID_LEN("\xE2\x28\xA1"), 0); /* not a continuation byte */
        assert_int_equal(VALID_LEN("\xF0\x90\x80\x28"), 0);
}

static void test_utf8_encode_round_trips_at_each_length(void **state)
{
        static const struct {
                uint32_t cp;
                const char *bytes;
        } cases[] = {
                { 0x41, "A" },
                { 0x7F, "\x7F" },
                { 0x80, "\xC2\x80" },
                { 0x7FF, "\xDF\xBF" },
                { 0x800, "\xE0\xA0\x80" },
                { 0xFFFD, "\xEF\xBF\xBD" },
                { 0x10000, "\xF0\x90\x80\x80" },
                { 0x10FFFF, "\xF4\x8F\xBF\xBF" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[4];
                size_t n = utf8_encode(buf, cases[i].cp);

                assert_int_equal(n, strlen(cases[i].bytes));
                assert_memory_equal(buf, cases[i].bytes, n);
                assert_int_equal(utf8_valid_len((const unsigned char *)buf, n), n);
        }
}

/* ---------------------------------------------------------------------------------------- */
/* path */

static void assert_path(char *(*f)(const char *), const char *in, const char *expected)
{
        _cleanup_free_ char *out = f(in);

        assert_non_null(out);
        assert_string_equal(out, expected);
}

static void test_path_strip_trailing_slashes(void **state)
{
        assert_path(path_strip_trailing_slashes, "/efi0/", "/efi0");
        assert_path(path_strip_trailing_slashes, "/efi0///", "/efi0");
        assert_path(path_strip_trailing_slashes, "/efi0", "/efi0");
        assert_path(path_strip_trailing_slashes, "/", "/");
        assert_path(path_strip_trailing_slashes, "///", "/");
        /* Only the end: doubled slashes inside stay. */
        assert_path(path_strip_trailing_slashes, "//mnt//root1/", "//mnt//root1");
        assert_path(path_strip_trailing_slashes, "", "");
}

static void test_path_normalize(void **state)
{
        assert_path(path_normalize, "//efi0//", "/efi0");
        assert_path(path_normalize, "/mnt//root1/efi/", "/mnt/root1/efi");
        assert_path(path_normalize, "/efi0", "/efi0");
        assert_path(path_normalize, "/", "/");
        assert_path(path_normalize, "////", "/");
        /* Text only: "." and ".." are not resolved. */
        assert_path(path_normalize, "/a/./b/../c", "/a/./b/../c");
}

/* ---------------------------------------------------------------------------------------- */
/* json */

static char *json_string(const char *s)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        json_write_string(f, s);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void assert_json(const char *in, const char *expected)
{
        _cleanup_free_ char *out = json_string(in);

        assert_string_equal(out, expected);
}

static void test_json_string_escapes(void **state)
{
        assert_json(NULL, "null");
        assert_json("", "\"\"");
        assert_json("/efi0", "\"/efi0\"");
        assert_json("a\"b\\c", "\"a\\\"b\\\\c\"");
        assert_json("line\nnext\tcol", "\"line\\nnext\\tcol\"");
        assert_json("\x01\x1F", "\"\\u0001\\u001f\"");
        /* Valid UTF-8 passes as it is. */
        assert_json("\xC3\xA9t\xC3\xA9 \xF0\x9F\x92\xBE", "\"\xC3\xA9t\xC3\xA9 \xF0\x9F\x92\xBE\"");
}

static void test_json_string_replaces_invalid_utf8(void **state)
{
        /* Each byte that starts no valid sequence becomes one U+FFFD. */
        assert_json("caf\xE9", "\"caf\\ufffd\"");
        assert_json("\xC0\xAF", "\"\\ufffd\\ufffd\"");
        assert_json("\xED\xA0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
        /* A sequence cut by the end of the string. */
        assert_json("x\xE2\x82", "\"x\\ufffd\\ufffd\"");
}

static void test_json_strv(void **state)
{
        char *l[] = { "/efi0", "/boot", NULL };
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        json_write_strv(f, l);
        fputc(' ', f);
        json_write_strv(f, NULL);
        fputc(' ', f);
        json_write_strv(f, l + 2);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(buf, "[\"/efi0\", \"/boot\"] null []");
        free(buf);
}

/* ---------------------------------------------------------------------------------------- */
/* strv */

static void test_strv_split_blank_drops_empty_words(void **state)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;

        assert_int_equal(strv_split_blank("  -a\t--delete \n-x  ", &l), 0);
        assert_int_equal(strv_length(l), 3);
        joined = strv_join(l, "|");
        assert_string_equal(joined, "-a|--delete|-x");
        assert_true(strv_contains(l, "--delete"));
        assert_false(strv_contains(l, "--del"));
}

static void test_strv_split_blank_of_blanks_is_empty(void **state)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;

        assert_int_equal(strv_split_blank(" \t\n", &l), 0);
        assert_non_null(l);
        assert_int_equal(strv_length(l), 0);
        joined = strv_join(l, ", ");
        assert_string_equal(joined, "");
}

static void test_strv_sort_orders_the_strings_not_their_addresses(void **state)
{
        /* Allocated in reverse order, so address order and string order disagree. */
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(strv_extend(&l, "vmlinuz-6.1"), 0);
        assert_int_equal(strv_extend(&l, "loader"), 0);
        assert_int_equal(strv_extend(&l, "initrd.img-6.1"), 0);
        assert_int_equal(strv_extend(&l, "EFI"), 0);
        strv_sort(l);
        assert_string_equal(l[0], "EFI");
        assert_string_equal(l[1], "initrd.img-6.1");
        assert_string_equal(l[2], "loader");
        assert_string_equal(l[3], "vmlinuz-6.1");
        assert_null(l[4]);
        strv_sort(NULL); /* the empty vector */
}

static void test_strv_extend_copy_and_push(void **state)
{
        _cleanup_strv_free_ char **a = NULL, **b = NULL;
        _cleanup_free_ char *joined = NULL;
        char *owned = strdup("/c");

        assert_non_null(owned);
        assert_int_equal(strv_extend(&a, "/a"), 0);
        assert_int_equal(strv_extend(&a, "/b"), 0);
        assert_int_equal(strv_push(&a, owned), 0);
        b = strv_copy(a);
        assert_non_null(b);
        assert_int_equal(strv_extend_strv(&b, a), 0);
        joined = strv_join(b, " ");
        assert_string_equal(joined, "/a /b /c /a /b /c");
        /* A copy, not the same strings. */
        assert_ptr_not_equal(a[0], b[0]);
        assert_int_equal(strv_length(NULL), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* exclude */

static void test_exclude_anchored_and_floating_patterns(void **state)
{
        char *anchored[] = { "/loader/random-seed", NULL };
        char *floating[] = { "cache/tmp", NULL };
        char *name[] = { "*.bak", NULL };

        assert_true(exclude_match(anchored, "loader/random-seed", false));
        assert_false(exclude_match(anchored, "EFI/loader/random-seed", false));
        assert_true(exclude_match(floating, "var/cache/tmp", true));
        assert_true(exclude_match(floating, "cache/tmp", true));
        assert_false(exclude_match(floating, "var/xcache/tmp", true));
        assert_true(exclude_match(name, "EFI/Linux/old.bak", false));
        assert_false(exclude_match(name, "EFI/Linux/old.efi", false));
        /* '*' does not cross '/'. */
        assert_false(exclude_match((char *[]){ "/EFI/*", NULL }, "EFI/Linux/a.efi", false));
        assert_true(exclude_match((char *[]){ "/EFI/*", NULL }, "EFI/Linux", true));
}

static void test_exclude_trailing_slash_matches_directories_only(void **state)
{
        char *dirs[] = { "/lost+found/", NULL };

        assert_true(exclude_match(dirs, "lost+found", true));
        assert_false(exclude_match(dirs, "lost+found", false));
        assert_false(exclude_match(NULL, "anything", false));
}

/* ---------------------------------------------------------------------------------------- */
/* errmsg */

static void test_errmsg_sets_and_prefixes(void **state)
{
        _cleanup_free_ char *why = NULL;

        assert_int_equal(errmsg(&why, -ENOENT, "%s: no such partition", "PARTUUID x"), -ENOENT);
        assert_string_equal(why, "PARTUUID x: no such partition");
        assert_int_equal(errmsg_prefix(&why, -ENOENT, "booted ESP (%d)", 1), -ENOENT);
        assert_string_equal(why, "booted ESP (1): PARTUUID x: no such partition");
        /* A new message replaces the old one. */
        assert_int_equal(errmsg(&why, -EIO, "second"), -EIO);
        assert_string_equal(why, "second");
        /* Without a place for it, only the error comes back. */
        assert_int_equal(errmsg(NULL, -EPERM, "ignored"), -EPERM);
}

static void test_format_duration_never_uses_an_exponent(void **state)
{
        static const struct {
                usec_t d;
                const char *want;
        } cases[] = {
                { 3600 * USEC_PER_SEC, "1h0m" },
                { 3723 * USEC_PER_SEC, "1h2m3s" },
                { 3552 * USEC_PER_SEC, "59m12s" },
                { 300 * USEC_PER_SEC, "5m0s" },
                { 45 * USEC_PER_SEC, "45s" },
                { 1500 * USEC_PER_MSEC, "1.5s" },
                { 250 * USEC_PER_MSEC, "0.25s" },
                { 7, "0.000007s" },
                { 0, "0s" },
                { UINT64_C(1000000) * 3600 * USEC_PER_SEC, "1000000h0m" },
                { USEC_INFINITY, "infinity" },
        };
        char buf[64];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_string_equal(format_duration(cases[i].d, buf, sizeof(buf)), cases[i].want);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_utf8_accepts_each_length_at_its_bounds),
                cmocka_unit_test(test_utf8_refuses_what_rfc_3629_forbids),
                cmocka_unit_test(test_utf8_encode_round_trips_at_each_length),
                cmocka_unit_test(test_path_strip_trailing_slashes),
                cmocka_unit_test(test_path_normalize),
                cmocka_unit_test(test_json_string_escapes),
                cmocka_unit_test(test_json_string_replaces_invalid_utf8),
                cmocka_unit_test(test_json_strv),
                cmocka_unit_test(test_strv_split_blank_drops_empty_words),
                cmocka_unit_test(test_strv_split_blank_of_blanks_is_empty),
                cmocka_unit_test(test_strv_sort_orders_the_strings_not_their_addresses),
                cmocka_unit_test(test_strv_extend_copy_and_push),
                cmocka_unit_test(test_exclude_anchored_and_floating_patterns),
                cmocka_unit_test(test_exclude_trailing_slash_matches_directories_only),
                cmocka_unit_test(test_errmsg_sets_and_prefixes),
                cmocka_unit_test(test_format_duration_never_uses_an_exponent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
