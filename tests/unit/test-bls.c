/* SPDX-License-Identifier: MIT */
/*
 * bls.c: Boot Loader Specification entries as systemd-boot reads them (DESIGN.md §11). The
 * parser is fed text; bls_load() the fixture tree tests/fixtures/esp/sdboot and trees built
 * per test under mkdtemp; bls_path_stat() resolves paths the way the firmware's FAT driver does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "bls.h"
#include "env-fixture.h"
#include "util/strv.h"

static char *fixture(const char *rel)
{
        const char *f = getenv("FIXTURES");
        char *p;

        if (!f)
                fail_msg("$FIXTURES is not set (run through meson test)");
        assert_true(asprintf(&p, "%s/%s", f, rel) >= 0);
        return p;
}

static void assert_strv_is(char **l, const char *joined)
{
        _cleanup_free_ char *s = strv_join(l, "|");

        assert_non_null(s);
        assert_string_equal(s, joined);
}

static void counter(const char *name, const char *suffix, const char *id, int left, int done)
{
        _cleanup_free_ char *got = NULL;
        int l = -2, d = -2;

        if (bls_parse_counter(name, suffix, &got, &l, &d) < 0)
                fail_msg("bls_parse_counter(\"%s\") failed", name);
        assert_string_equal(got, id);
        assert_int_equal(l, left);
        assert_int_equal(d, done);
}

static void test_counter_plain_name_has_none(void **state)
{
        counter("debian.conf", ".conf", "debian.conf", -1, -1);
}

static void test_counter_tries_left_only(void **state)
{
        counter("debian+3.conf", ".conf", "debian.conf", 3, -1);
}

static void test_counter_tries_left_and_done(void **state)
{
        counter("debian-6.1+2-1.conf", ".conf", "debian-6.1.conf", 2, 1);
        counter("uki+0-3.efi", ".efi", "uki.efi", 0, 3);
}

static void test_counter_that_is_not_one_stays_in_the_id(void **state)
{
        counter("a+x.conf", ".conf", "a+x.conf", -1, -1);
        counter("a+3-.conf", ".conf", "a+3-.conf", -1, -1);
        counter("+3.conf", ".conf", "+3.conf", -1, -1);
        counter("a+1234567890.conf", ".conf", "a+1234567890.conf", -1, -1);
}

static void test_counter_suffix_any_case(void **state)
{
        counter("ARCH+1.CONF", ".conf", "ARCH.CONF", 1, -1);
}

static void test_counter_wrong_suffix_is_einval(void **state)
{
        char *id = NULL;
        int l, d;

        assert_int_equal(bls_parse_counter("debian.txt", ".conf", &id, &l, &d), -EINVAL);
        assert_int_equal(bls_parse_counter(".conf", ".conf", &id, &l, &d), -EINVAL);
        assert_null(id);
}

static void parse_ok(const char *name, const char *text, struct bls_entry *e)
{
        _cleanup_free_ char *why = NULL;

        if (bls_entry_parse(name, text, strlen(text), e, &why) < 0)
                fail_msg("%s: %s", name, strna(why));
}

static void parse_fails(const char *name, const char *text, size_t size, const char *message)
{
        _cleanup_free_ char *why = NULL;
        struct bls_entry e = {};

        assert_int_equal(bls_entry_parse(name, text, size, &e, &why), -EBADMSG);
        assert_non_null(why);
        assert_string_equal(why, message);
        assert_null(e.filename);
}

static void test_parse_every_key(void **state)
{
        struct bls_entry e;

        parse_ok("x+1-2.conf",
                 "# comment\n"
                 "title Debian 12\n"
                 "version 6.1\n"
                 "machine-id 0123\n"
                 "sort-key debian\n"
                 "architecture x64\n"
                 "linux /vmlinuz\n"
                 "initrd /ucode.img /initrd.img\n"
                 "initrd /extra.img\n"
                 "devicetree /dtb\n"
                 "devicetree-overlay /o1.dtbo /o2.dtbo\n"
                 "options root=x\n"
                 "options quiet\n",
                 &e);
        assert_string_equal(e.filename, "x+1-2.conf");
        assert_string_equal(e.id, "x.conf");
        assert_int_equal(e.tries_left, 1);
        assert_int_equal(e.tries_done, 2);
        assert_string_equal(e.title, "Debian 12");
        assert_string_equal(e.version, "6.1");
        assert_string_equal(e.machine_id, "0123");
        assert_string_equal(e.sort_key, "debian");
        assert_string_equal(e.architecture, "x64");
        assert_string_equal(e.linux_path, "/vmlinuz");
        assert_string_equal(e.devicetree, "/dtb");
        assert_strv_is(e.initrd, "/ucode.img|/initrd.img|/extra.img");
        assert_strv_is(e.devicetree_overlay, "/o1.dtbo|/o2.dtbo");
        assert_strv_is(e.options, "root=x|quiet");
        assert_null(e.efi);
        assert_false(e.uki);
        bls_entry_done(&e);
}

static void test_parse_blanks_crlf_and_unknown_keys(void **state)
{
        struct bls_entry e;

        parse_ok("a.conf", "\r\n   title   spaced  out  \r\n\tlinux\t/k\r\nfrobnicate yes\n\n", &e);
        assert_string_equal(e.title, "spaced  out");
        assert_string_equal(e.linux_path, "/k");
        assert_int_equal(e.tries_left, -1);
        bls_entry_done(&e);
}

static void test_parse_efi_entry(void **state)
{
        struct bls_entry e;
        _cleanup_strv_free_ char **files = NULL;

        parse_ok("shell.conf", "title Shell\nefi /EFI/tools/shellx64.efi\n", &e);
        assert_int_equal(bls_entry_files(&e, &files), 0);
        assert_strv_is(files, "/EFI/tools/shellx64.efi");
        bls_entry_done(&e);
}

static void test_entry_files_in_order(void **state)
{
        struct bls_entry e;
        _cleanup_strv_free_ char **files = NULL;

        parse_ok("a.conf", "devicetree-overlay /o\ninitrd /i1 /i2\ndevicetree /d\nlinux /l\n", &e);
        assert_int_equal(bls_entry_files(&e, &files), 0);
        assert_strv_is(files, "/l|/i1|/i2|/d|/o");
        bls_entry_done(&e);
}

static void test_parse_key_without_value_names_the_line(void **state)
{
        parse_fails("b.conf", "title x\n\nlinux   \n", 18, "b.conf:3: \"linux\" has no value");
}

static void test_parse_repeated_single_key_names_it(void **state)
{
        const char *t = "linux /a\nlinux /b\n";

        parse_fails("c.conf", t, strlen(t), "c.conf:2: \"linux\" given twice");
}

static void test_parse_nul_byte_is_refused(void **state)
{
        parse_fails("d.conf", "title a\0b\n", 10, "d.conf: holds a NUL byte: not a text file");
}

static void test_pattern_matches_id_with_and_without_suffix(void **state)
{
        struct bls_entry e;

        parse_ok("Debian-6.1+3.conf", "linux /k\n", &e);
        assert_true(bls_pattern_matches("debian-*", &e));
        assert_true(bls_pattern_matches("Debian-6.1", &e));
        assert_true(bls_pattern_matches("debian-6.1.conf", &e));
        assert_false(bls_pattern_matches("debian-6.1+3.conf", &e)); /* the counter is no part */
        assert_false(bls_pattern_matches("arch-*", &e));
        assert_true(bls_pattern_is_special("@saved"));
        assert_false(bls_pattern_is_special("debian-*"));
        bls_entry_done(&e);
}

static void test_load_the_fixture_tree(void **state)
{
        _cleanup_free_ char *dir = fixture("esp/sdboot"), *why = NULL;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct bls_set s;

        assert_true(fd >= 0);
        if (bls_load(fd, &s, &why) < 0)
                fail_msg("%s", strna(why));
        assert_true(s.have_loader_conf);
        assert_string_equal(s.default_pattern, "debian-*");
        assert_int_equal(s.default_line, 3);
        assert_null(s.loader_conf_error);
        /* type #1 entries sorted by file name (README.txt is not one), then the UKI */
        assert_int_equal(s.n, 3);
        assert_string_equal(s.entries[0].filename, "broken.conf");
        assert_string_equal(s.entries[0].error, "broken.conf:2: \"linux\" has no value");
        assert_string_equal(s.entries[1].filename, "debian-6.1.0-18+2-1.conf");
        assert_string_equal(s.entries[1].id, "debian-6.1.0-18.conf");
        assert_null(s.entries[1].error);
        assert_string_equal(s.entries[1].linux_path,
                            "/0123456789abcdef0123456789abcdef/6.1.0-18-amd64/linux");
        assert_int_equal(strv_length(s.entries[1].initrd), 2);
        assert_true(bls_pattern_matches(s.default_pattern, &s.entries[1]));
        assert_true(s.entries[2].uki);
        assert_string_equal(s.entries[2].id, "debian-6.2.efi");
        assert_int_equal(s.entries[2].size, 4);
        bls_set_done(&s);
}

/* A tree under mkdtemp; removed by the caller's rm_tree. */
static char *make_tree(void)
{
        char *d = strdup("/tmp/test-bls.XXXXXX");

        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void rm_tree(char *d)
{
        nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
}

static void test_load_matches_directories_in_any_case(void **state)
{
        char *d = make_tree();
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *why = NULL;
        struct bls_set s;

        put(d, "LOADER/Entries/a.CONF", "linux /k\n");
        put(d, "LOADER/LOADER.CONF", "default a\n");
        put(d, "efi/linux/u.EFI", "x");
        fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(bls_load(fd, &s, &why), 0);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.entries[0].filename, "a.CONF");
        assert_true(s.entries[1].uki);
        assert_string_equal(s.default_pattern, "a");
        bls_set_done(&s);
        rm_tree(d);
}

static void test_load_empty_esp_has_no_entries(void **state)
{
        char *d = make_tree();
        _cleanup_close_ int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct bls_set s;

        assert_int_equal(bls_load(fd, &s, NULL), 0);
        assert_int_equal(s.n, 0);
        assert_false(s.have_loader_conf);
        assert_null(s.default_pattern);
        bls_set_done(&s);
        rm_tree(d);
}

static void test_load_keeps_an_oversized_entry_with_its_error(void **state)
{
        char *d = make_tree();
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *big = malloc(BLS_FILE_MAX + 2);
        struct bls_set s;

        assert_non_null(big);
        memset(big, '#', BLS_FILE_MAX + 1);
        big[BLS_FILE_MAX + 1] = 0;
        put(d, "loader/entries/big+1.conf", big);
        fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(bls_load(fd, &s, NULL), 0);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.entries[0].error, "larger than 64 KiB");
        assert_string_equal(s.entries[0].id, "big.conf");
        bls_set_done(&s);
        rm_tree(d);
}

static void test_path_stat_as_the_firmware_resolves(void **state)
{
        char *d = make_tree();
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *link = NULL;
        struct stat st;

        put(d, "EFI/BOOT/BOOTX64.EFI", "abc");
        fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(bls_path_stat(fd, "\\EFI\\BOOT\\BOOTX64.EFI", &st), 0);
        assert_int_equal(st.st_size, 3);
        assert_int_equal(bls_path_stat(fd, "/efi/boot/bootx64.efi", &st), 0);
        assert_int_equal(bls_path_stat(fd, "EFI/./BOOT/BOOTX64.EFI", &st), 0);
        assert_int_equal(bls_path_stat(fd, "/EFI/BOOT", &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(bls_path_stat(fd, "/EFI/BOOT/missing.efi", &st), -ENOENT);
        assert_int_equal(bls_path_stat(fd, "/EFI/BOOT/BOOTX64.EFI/x", &st), -ENOENT);
        assert_int_equal(bls_path_stat(fd, "/EFI/../EFI/BOOT/BOOTX64.EFI", &st), -ELOOP);
        assert_int_equal(bls_path_stat(fd, "/", &st), -EISDIR);
        assert_true(asprintf(&link, "%s/escape", d) >= 0);
        assert_int_equal(symlink("/etc/passwd", link), 0);
        assert_int_equal(bls_path_stat(fd, "/escape", &st), -ELOOP);
        /* a FIFO is looked at, never opened (which would block) */
        free(link);
        assert_true(asprintf(&link, "%s/EFI/fifo", d) >= 0);
        assert_int_equal(mkfifo(link, 0600), 0);
        assert_int_equal(bls_path_stat(fd, "/EFI/FIFO", &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
        rm_tree(d);
}

/* DESIGN.md §11 S8: the file found FAT-style is judged for what the entry uses it as; a FIFO
 * or directory is refused without being opened, a symlink as bls_path_stat() refuses it. */
static void test_path_check_judges_the_file_found(void **state)
{
        char *d = make_tree();
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *link = NULL, *why = NULL;

        put(d, "EFI/BOOT/BOOTX64.EFI", "abc");
        put(d, "initrd.img", "x");
        put(d, "empty", "");
        fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(bls_path_check(fd, "\\efi\\boot\\bootx64.efi", LOADERFILE_EFI, &why),
                         -EBADMSG);
        assert_string_equal(why, "not a PE image: it starts with 0x61 0x62, not \"MZ\"");
        assert_int_equal(bls_path_check(fd, "/INITRD.IMG", LOADERFILE_INITRD, NULL), 0);
        free(why);
        why = NULL;
        assert_int_equal(bls_path_check(fd, "/empty", LOADERFILE_INITRD, &why), -EBADMSG);
        assert_string_equal(why, "empty (0 bytes)");
        assert_int_equal(bls_path_check(fd, "/missing", LOADERFILE_INITRD, NULL), -ENOENT);
        assert_int_equal(bls_path_check(fd, "/EFI/BOOT", LOADERFILE_EFI, NULL), -EMEDIUMTYPE);
        assert_true(asprintf(&link, "%s/EFI/fifo", d) >= 0);
        assert_int_equal(mkfifo(link, 0600), 0);
        assert_int_equal(bls_path_check(fd, "/EFI/FIFO", LOADERFILE_KERNEL, NULL), -EMEDIUMTYPE);
        free(link);
        assert_true(asprintf(&link, "%s/escape", d) >= 0);
        assert_int_equal(symlink("initrd.img", link), 0);
        free(why);
        why = NULL;
        assert_int_equal(bls_path_check(fd, "/escape", LOADERFILE_INITRD, &why), -ELOOP);
        assert_string_equal(why, "cannot open it: Too many levels of symbolic links");
        rm_tree(d);
}

static void test_typed_files_say_what_each_must_be(void **state)
{
        _cleanup_(bls_entry_done) struct bls_entry e = {};
        _cleanup_free_ struct bls_file *f = NULL;
        static const char text[] = "linux /k\nefi /e.efi\ninitrd /i1 /i2\ndevicetree /d.dtb\n"
                                   "devicetree-overlay /o1.dtbo /o2.dtbo\n";
        size_t n;

        assert_int_equal(bls_entry_parse("x.conf", text, sizeof(text) - 1, &e, NULL), 0);
        assert_int_equal(bls_entry_typed_files(&e, &f, &n), 0);
        assert_int_equal(n, 7);
        assert_string_equal(f[0].path, "/k");
        assert_int_equal(f[0].kind, LOADERFILE_KERNEL);
        assert_string_equal(f[1].path, "/e.efi");
        assert_int_equal(f[1].kind, LOADERFILE_EFI);
        assert_string_equal(f[3].path, "/i2");
        assert_int_equal(f[3].kind, LOADERFILE_INITRD);
        assert_int_equal(f[4].kind, LOADERFILE_DEVICETREE);
        assert_string_equal(f[6].path, "/o2.dtbo");
        assert_int_equal(f[6].kind, LOADERFILE_DEVICETREE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test(f)
                T(test_counter_plain_name_has_none),
                T(test_counter_tries_left_only),
                T(test_counter_tries_left_and_done),
                T(test_counter_that_is_not_one_stays_in_the_id),
                T(test_counter_suffix_any_case),
                T(test_counter_wrong_suffix_is_einval),
                T(test_parse_every_key),
                T(test_parse_blanks_crlf_and_unknown_keys),
                T(test_parse_efi_entry),
                T(test_entry_files_in_order),
                T(test_parse_key_without_value_names_the_line),
                T(test_parse_repeated_single_key_names_it),
                T(test_parse_nul_byte_is_refused),
                T(test_pattern_matches_id_with_and_without_suffix),
                T(test_load_the_fixture_tree),
                T(test_load_matches_directories_in_any_case),
                T(test_load_empty_esp_has_no_entries),
                T(test_load_keeps_an_oversized_entry_with_its_error),
                T(test_path_stat_as_the_firmware_resolves),
                T(test_path_check_judges_the_file_found),
                T(test_typed_files_say_what_each_must_be),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
