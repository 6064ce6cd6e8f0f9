/* SPDX-License-Identifier: MIT */
/*
 * uki.c (the PE section reader, the entry's UCS-2 command line) and ukichain.c (a kernel a
 * Boot#### entry starts directly, DESIGN.md §11b L11). Images come from
 * tests/tools/loaderimage.h, written apart from the reader. Per chain test, under mkdtemp:
 * the other disk's ESP (efi0) and the ESP judged (efi1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/mman.h>

#include "uki.h"
#include "ukichain.h"
#include "tree-fixture.h"

#define ROOT0 "aaaaaaaa-0000-4000-8000-000000000000"
#define ROOT1 "aaaaaaaa-0000-4000-8000-000000000001"
#define PART0 "bbbbbbbb-0000-4000-8000-000000000000"
#define PART1 "bbbbbbbb-0000-4000-8000-000000000001"
#define SIZE (64 * 1024)

#if defined(__x86_64__) || defined(__i386__)
#define HAVE_KERNEL_SIGNATURE 1 /* li_kernel() writes "HdrS"; elsewhere a bare PE image */
#else
#define HAVE_KERNEL_SIGNATURE 0
#endif

static uint8_t *make_uki(const char *cmdline)
{
        uint8_t *b = calloc(1, SIZE);

        assert_non_null(b);
        assert_int_equal(li_uki_cmdline(b, SIZE, cmdline), 0);
        return b;
}

/* The verdict from memory and from a file descriptor must agree. */
static int read_both(const uint8_t *b, size_t n, struct uki_image *ret, char **why)
{
        struct uki_image u2 = {};
        char *why2 = NULL;
        int fd = memfd_create("uki", MFD_CLOEXEC), r, r2;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, b, n), (ssize_t)n);
        r = uki_read_buffer(b, n, ret, why);
        r2 = uki_read_fd(fd, &u2, &why2);
        close(fd);
        assert_int_equal(r, r2);
        if (r == 0) {
                assert_int_equal(ret->kind, u2.kind);
                assert_string_equal(strna(ret->cmdline), strna(u2.cmdline));
        } else
                assert_string_equal(strna(*why), strna(why2));
        uki_image_done(&u2);
        free(why2);
        return r;
}

static void test_uki_with_cmdline(void **state)
{
        _cleanup_free_ uint8_t *b = make_uki("root=UUID=" ROOT1 " ro quiet");
        struct uki_image u = {};
        char *why = NULL;

        assert_int_equal(read_both(b, SIZE, &u, &why), 0);
        assert_int_equal(u.kind, UKI_UKI);
        assert_true(u.has_initrd);
        /* VirtualSize cuts the padding; the NUL is dropped. */
        assert_string_equal(u.cmdline, "root=UUID=" ROOT1 " ro quiet");
        uki_image_done(&u);
}

static void test_kinds(void **state)
{
        _cleanup_free_ uint8_t *b = calloc(1, SIZE);
        struct uki_image u = {};
        char *why = NULL;

        assert_non_null(b);
        assert_int_equal(li_uki(b, SIZE), 0);
        assert_int_equal(read_both(b, SIZE, &u, &why), 0);
        assert_int_equal(u.kind, UKI_UKI);
        assert_null(u.cmdline);
        uki_image_done(&u);

        memset(b, 0, SIZE);
        assert_int_equal(li_kernel(b, SIZE), 0);
        assert_int_equal(read_both(b, SIZE, &u, &why), 0);
        assert_int_equal(u.kind, HAVE_KERNEL_SIGNATURE ? UKI_KERNEL : UKI_NONE);
        uki_image_done(&u);

        /* arm64's Image header magic marks a kernel on any build machine */
        memset(b, 0, SIZE);
        assert_int_equal(li_efi(b, SIZE, 0), 0);
        assert_int_equal(read_both(b, SIZE, &u, &why), 0);
        assert_int_equal(u.kind, UKI_NONE); /* systemd-boot, shim: a loader, not a kernel */
        memcpy(b + 0x38, "ARM\x64", 4);
        assert_int_equal(read_both(b, SIZE, &u, &why), 0);
        assert_int_equal(u.kind, UKI_KERNEL);
        uki_image_done(&u);
        assert_string_equal(uki_kind_to_string(UKI_KERNEL), "EFI-stub kernel");
}

/* Every length short of the section table's end is refused with a reason; past it the
 * .cmdline section must be whole. Nothing reads past the data (ASan). */
static void test_every_truncation(void **state)
{
        _cleanup_free_ uint8_t *b = make_uki("root=UUID=" ROOT1);
        /* .cmdline starts at 0x600; its VirtualSize is the text and its NUL */
        const size_t end = 0x600 + strlen("root=UUID=" ROOT1) + 1;

        for (size_t n = 0; n < 0x800; n++) {
                _cleanup_free_ uint8_t *copy = malloc(n ? n : 1);
                struct uki_image u = {};
                char *why = NULL;
                int r;

                assert_non_null(copy);
                memcpy(copy, b, n);
                r = read_both(copy, n, &u, &why);
                if (n < end) {
                        if (r != -EBADMSG)
                                fail_msg("%zu bytes: %d, not -EBADMSG", n, r);
                        assert_non_null(why);
                } else
                        assert_int_equal(r, 0);
                uki_image_done(&u);
                free(why);
        }
}

static void test_hostile_headers(void **state)
{
        _cleanup_free_ uint8_t *b = make_uki("root=UUID=" ROOT1);
        const size_t table = 0x40 + 24 + (LI_PE32PLUS ? 112 : 96) + LI_DIRS * 8;
        struct uki_image u = {};
        char *why = NULL;

        /* e_lfanew far outside the file */
        li_put32(b + 0x3c, 0xfffffff0);
        assert_int_equal(read_both(b, SIZE, &u, &why), -EBADMSG);
        assert_non_null(strstr(why, "e_lfanew 0xfffffff0"));
        free(why);
        why = NULL;
        li_put32(b + 0x3c, 0x40);

        /* more sections than a PE image can have */
        li_put16(b + 0x40 + 6, 97);
        assert_int_equal(read_both(b, SIZE, &u, &why), -EBADMSG);
        assert_non_null(strstr(why, "97 sections"));
        free(why);
        why = NULL;
        li_put16(b + 0x40 + 6, 5);

        /* .cmdline's raw data pointing past the end */
        li_put32(b + table + 4 * 40 + 20, 0xfffff000);
        assert_int_equal(read_both(b, SIZE, &u, &why), -EBADMSG);
        assert_non_null(strstr(why, ".cmdline section: truncated"));
        free(why);
        why = NULL;
        li_put32(b + table + 4 * 40 + 20, 0x600);

        /* a huge .cmdline */
        li_put32(b + table + 4 * 40 + 8, 0);
        li_put32(b + table + 4 * 40 + 16, 0x7fffffff);
        assert_int_equal(read_both(b, SIZE, &u, &why), -EBADMSG);
        assert_non_null(strstr(why, "more than the 65536 accepted"));
        free(why);
        why = NULL;
        li_put32(b + table + 4 * 40 + 16, 0x200);
        li_put32(b + table + 4 * 40 + 8, 0x20);

        /* a control byte inside the command line */
        b[0x605] = 0x01;
        assert_int_equal(read_both(b, SIZE, &u, &why), -EBADMSG);
        assert_non_null(strstr(why, "byte 0x01 at offset 5"));
        free(why);
        why = NULL;
        b[0x605] = 0xff;
        assert_int_equal(read_both(b, SIZE, &u, &why), -EBADMSG);
        assert_non_null(strstr(why, "not UTF-8"));
        free(why);
}

static void test_optional_cmdline(void **state)
{
        static const uint8_t ucs2[] = { 'r', 0, 'o', 0, 'o', 0, 't', 0, '=', 0, 'x', 0, 0, 0 };
        static const uint8_t accent[] = { 0xe9, 0, 0, 0 };
        static const uint8_t surrogate[] = { 'a', 0, 0x00, 0xd8 };
        static const uint8_t control[] = { 'a', 0, 0x07, 0 };
        char *t = NULL, *why = NULL;

        assert_int_equal(uki_optional_cmdline(NULL, 0, &t, &why), 0);
        assert_null(t);
        assert_int_equal(uki_optional_cmdline(ucs2, sizeof(ucs2), &t, &why), 0);
        assert_string_equal(t, "root=x");
        free(t);
        /* without its NUL, as some tools write it */
        assert_int_equal(uki_optional_cmdline(ucs2, sizeof(ucs2) - 2, &t, &why), 0);
        assert_string_equal(t, "root=x");
        free(t);
        assert_int_equal(uki_optional_cmdline(accent, sizeof(accent), &t, &why), 0);
        assert_string_equal(t, "\xc3\xa9");
        free(t);
        assert_int_equal(uki_optional_cmdline(ucs2, 5, &t, &why), -EBADMSG);
        assert_non_null(strstr(why, "5 bytes, an odd number"));
        assert_int_equal(uki_optional_cmdline(surrogate, sizeof(surrogate), &t, &why), -EBADMSG);
        assert_non_null(strstr(why, "U+D800 at character 1"));
        assert_int_equal(uki_optional_cmdline(control, sizeof(control), &t, &why), -EBADMSG);
        assert_non_null(strstr(why, "U+0007"));
        /* efibootmgr without -u: bytes, with or without a NUL */
        assert_int_equal(uki_optional_cmdline((const uint8_t *)"root=/dev/sda2 ro", 17, &t, &why),
                         -EBADMSG);
        assert_non_null(strstr(why, "ASCII text (\"root=/dev/sda2 ro\"), not UCS-2"));
        assert_int_equal(uki_optional_cmdline((const uint8_t *)"root=x\0", 8, &t, &why), -EBADMSG);
        assert_non_null(strstr(why, "ASCII text (\"root=x\")"));
        free(why);
}

/* ---- the chain ---- */

struct tree {
        char dir[64];
        int fd[2];
        struct chain_fs fs[4];
};

static int setup(void **state)
{
        struct tree *t = calloc(1, sizeof(*t));

        assert_non_null(t);
        strcpy(t->dir, "/tmp/test-uki.XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        for (int i = 0; i < 2; i++) {
                char sub[96];

                snprintf(sub, sizeof(sub), "%s/efi%d", t->dir, i);
                assert_int_equal(mkdir(sub, 0755), 0);
                t->fd[i] = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(t->fd[i] >= 0);
        }
        t->fs[0] = (struct chain_fs){ .name = "/efi1",
                                      .uuid = "E501-0000",
                                      .partuuid = PART1,
                                      .fstype = "vfat",
                                      .fd = t->fd[1],
                                      .this_disk = true };
        t->fs[1] = (struct chain_fs){
                .name = "/efi0", .uuid = "E500-0000", .partuuid = PART0, .fd = t->fd[0]
        };
        t->fs[2] = (struct chain_fs){ .name = "disk 0's root", .uuid = ROOT0, .fd = -1 };
        t->fs[3] = (struct chain_fs){
                .name = "/", .uuid = ROOT1, .label = "root1", .fd = -1, .this_disk = true
        };
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct tree *t = *state;

        for (int i = 0; i < 2; i++)
                close(t->fd[i]);
        tree_remove(t->dir);
        free(t);
        return 0;
}

static void put_uki(struct tree *t, const char *path, const char *cmdline)
{
        _cleanup_free_ uint8_t *b = make_uki(cmdline);

        tree_write(t->fd[1], path, b, SIZE);
}

/* UCS-2 little endian with its NUL, as efibootmgr -u writes it. */
static size_t ucs2(const char *s, uint8_t *buf)
{
        size_t n = 0;

        for (; *s; s++) {
                buf[n++] = (uint8_t)*s;
                buf[n++] = 0;
        }
        buf[n++] = 0;
        buf[n++] = 0;
        return n;
}

static void show(const struct chain_result *c)
{
        for (size_t i = 0; i < c->n; i++)
                print_error("  [%d] %s\n", c->findings[i].level, c->findings[i].text);
}

static void assert_finding(const struct chain_result *c, enum chain_level l, const char *part)
{
        for (size_t i = 0; i < c->n; i++)
                if (c->findings[i].level == l && strstr(c->findings[i].text, part))
                        return;
        show(c);
        fail_msg("no finding of level %d with '%s'", l, part);
}

static void test_uki_root_on_this_disk(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put_uki(t, "EFI/Linux/debian.efi", "root=UUID=" ROOT1 " ro");
        assert_int_equal(
                uki_chain_check(t->fs, 4, 0, "\\EFI\\Linux\\debian.efi", NULL, 0, false, &c), 1);
        show(&c);
        assert_true(c.worst < CHAIN_WARNING);
        assert_true(c.default_bootable);
        assert_string_equal(c.default_title, "/efi1/EFI/Linux/debian.efi");
        assert_finding(&c, CHAIN_LINK, "is a unified kernel image");
        assert_finding(&c, CHAIN_LINK, "root=UUID=" ROOT1 ": /, on this disk");
        chain_result_done(&c);

        /* the label form, the last root= counting */
        put_uki(t, "EFI/Linux/debian.efi", "root=UUID=" ROOT0 " root=\"LABEL=root1\"");
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "EFI/Linux/debian.efi", NULL, 0, false, &c),
                         1);
        assert_finding(&c, CHAIN_LINK, "root=LABEL=root1: /, on this disk");
        assert_true(c.worst < CHAIN_WARNING);
        chain_result_done(&c);
}

static void test_uki_root_on_the_other_disk(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};
        uint8_t opt[256];
        size_t n;

        put_uki(t, "EFI/Linux/debian.efi", "root=/dev/disk/by-uuid/" ROOT0 " ro");
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "EFI/Linux/debian.efi", NULL, 0, false, &c),
                         1);
        assert_finding(&c, CHAIN_CRITICAL,
                       "/efi1/EFI/Linux/debian.efi: its .cmdline's root=/dev/disk/by-uuid/" ROOT0
                       " names disk 0's root, on the other disk");
        assert_false(c.default_bootable);
        assert_int_equal(c.worst, CHAIN_CRITICAL);
        chain_result_done(&c);

        /* .cmdline right, the entry's command line (used without Secure Boot) wrong */
        put_uki(t, "EFI/Linux/debian.efi", "root=UUID=" ROOT1);
        n = ucs2("root=PARTUUID=" PART0, opt);
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "EFI/Linux/debian.efi", opt, n, false, &c),
                         1);
        assert_finding(&c, CHAIN_LINK, "root=UUID=" ROOT1 ": /, on this disk");
        assert_finding(&c, CHAIN_CRITICAL,
                       "the boot entry's command line's root=PARTUUID=" PART0 " names /efi0");
        chain_result_done(&c);
}

static void test_uki_root_unknown(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put_uki(t, "EFI/Linux/debian.efi", "root=UUID=cccccccc-0000-4000-8000-000000000000");
        /* every filesystem known: names nothing of this disk */
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "EFI/Linux/debian.efi", NULL, 0, false, &c),
                         1);
        assert_finding(&c, CHAIN_CRITICAL, "names no filesystem of this disk");
        chain_result_done(&c);
        /* only the ESPs known (--status): cannot tell */
        assert_int_equal(uki_chain_check(t->fs, 2, 0, "EFI/Linux/debian.efi", NULL, 0, true, &c),
                         1);
        /* only the ESPs known (--status): not placed, so said in the chain, not a finding */
        assert_finding(&c, CHAIN_LINK, "is none of the ESPs --status knows");
        assert_true(c.default_bootable);
        assert_true(c.root_unchecked);
        assert_true(c.worst < CHAIN_UNKNOWN);
        chain_result_done(&c);

        put_uki(t, "EFI/Linux/debian.efi", "root=/dev/sda2");
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "EFI/Linux/debian.efi", NULL, 0, false, &c),
                         1);
        assert_finding(&c, CHAIN_LINK, "names a device");
        assert_true(c.root_unchecked);
        chain_result_done(&c);

        put_uki(t, "EFI/Linux/debian.efi", NULL);
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "EFI/Linux/debian.efi", NULL, 0, false, &c),
                         1);
        assert_finding(&c, CHAIN_LINK, "has no root=");
        assert_true(c.root_unchecked);
        chain_result_done(&c);
}

static void test_plain_kernel(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};
        uint8_t opt[512];
        size_t n;

        if (!HAVE_KERNEL_SIGNATURE)
                skip();
        put_image(t->fd[1], "vmlinuz.efi", "kernel");
        put_image(t->fd[1], "initrd.img", "initrd");
        n = ucs2("root=PARTUUID=" PART1 " ro initrd=\\initrd.img", opt);
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "\\vmlinuz.efi", opt, n, false, &c), 1);
        show(&c);
        assert_true(c.worst < CHAIN_WARNING);
        assert_finding(&c, CHAIN_LINK, "is an EFI-stub kernel");
        assert_finding(&c, CHAIN_LINK, "root=PARTUUID=" PART1 ": /efi1, on this disk");
        assert_finding(&c, CHAIN_LINK, "initrd=\\initrd.img: on /efi1");
        chain_result_done(&c);

        /* the initrd only the other disk holds */
        put_image(t->fd[0], "initrd-0.img", "initrd");
        n = ucs2("root=PARTUUID=" PART1 " initrd=\\initrd-0.img", opt);
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "vmlinuz.efi", opt, n, false, &c), 1);
        assert_finding(
                &c, CHAIN_CRITICAL,
                "/efi1/vmlinuz.efi: the command line's initrd=\\initrd-0.img: /efi1 lacks it");
        assert_false(c.default_bootable);
        chain_result_done(&c);

        /* an empty initrd */
        tree_write(t->fd[1], "empty.img", "", 0);
        n = ucs2("root=PARTUUID=" PART1 " initrd=/empty.img", opt);
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "vmlinuz.efi", opt, n, false, &c), 1);
        assert_finding(&c, CHAIN_CRITICAL, "initrd=/empty.img: /efi1 holds it, but empty");
        chain_result_done(&c);

        /* no optional data: no command line at all */
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "vmlinuz.efi", NULL, 0, false, &c), 1);
        assert_finding(&c, CHAIN_LINK, "no optional data, so no command line) has no root=");
        chain_result_done(&c);

        /* optional data that is not UCS-2 text (odd length) */
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "vmlinuz.efi", opt, 3, false, &c), 1);
        assert_finding(&c, CHAIN_CRITICAL,
                       "the boot entry's command line: its optional data is 3 bytes");
        chain_result_done(&c);
}

static void test_not_a_kernel_or_broken(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};
        _cleanup_free_ uint8_t *b = make_uki("root=UUID=" ROOT1);

        /* systemd-boot: judged elsewhere */
        put_image(t->fd[1], "EFI/systemd/systemd-bootx64.efi", "efi");
        assert_int_equal(
                uki_chain_check(t->fs, 4, 0, "EFI/systemd/systemd-bootx64.efi", NULL, 0, false, &c),
                0);
        assert_int_equal(c.n, 0);
        /* missing: the entry's own check says so */
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "EFI/Linux/none.efi", NULL, 0, false, &c), 0);
        /* a UKI cut inside its .linux section: not startable */
        tree_write(t->fd[1], "EFI/Linux/cut.efi", b, SIZE / 2);
        assert_int_equal(uki_chain_check(t->fs, 4, 0, "EFI/Linux/cut.efi", NULL, 0, false, &c), 1);
        assert_finding(&c, CHAIN_CRITICAL,
                       "/efi1/EFI/Linux/cut.efi: not one the firmware can start: ");
        assert_false(c.default_bootable);
        chain_result_done(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uki_with_cmdline),
                cmocka_unit_test(test_kinds),
                cmocka_unit_test(test_every_truncation),
                cmocka_unit_test(test_hostile_headers),
                cmocka_unit_test(test_optional_cmdline),
                cmocka_unit_test_setup_teardown(test_uki_root_on_this_disk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_uki_root_on_the_other_disk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_uki_root_unknown, setup, teardown),
                cmocka_unit_test_setup_teardown(test_plain_kernel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_kernel_or_broken, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
