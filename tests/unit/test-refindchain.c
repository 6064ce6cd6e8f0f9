/* SPDX-License-Identifier: MIT */
/*
 * refindchain.c: rEFInd's chain on one disk as if the other were gone (DESIGN.md §11b). Per
 * test, under mkdtemp: the ESP of the other disk (efi0), the ESP judged (efi1, rEFInd in
 * EFI/refind, a kernel, its initrd and refind_linux.conf at the top, as with the ESP as
 * /boot) and an ext4 /boot of this disk (boot1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "refindchain.h"
#include "util/strv.h"
#include "tree-fixture.h"

#define ROOT0 "aaaaaaaa-0000-4000-8000-000000000000"
#define ROOT1 "aaaaaaaa-0000-4000-8000-000000000001"

struct tree {
        char dir[64];
        int fd[3];
        struct chain_fs fs[5];
};

static int setup(void **state)
{
        struct tree *t = calloc(1, sizeof(*t));
        static const char *const names[] = { "efi0", "efi1", "boot1" };

        assert_non_null(t);
        strcpy(t->dir, "/tmp/test-refindchain.XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        for (int i = 0; i < 3; i++) {
                char sub[96];

                snprintf(sub, sizeof(sub), "%s/%s", t->dir, names[i]);
                assert_int_equal(mkdir(sub, 0755), 0);
                t->fd[i] = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(t->fd[i] >= 0);
        }
        put(t->fd[1], "EFI/refind/refind_x64.efi", "MZ");
        put(t->fd[1], "EFI/refind/refind.conf", "timeout 5\n");
        put_image(t->fd[1], "vmlinuz-6.1.0-27-amd64", "kernel");
        put_image(t->fd[1], "initrd.img-6.1.0-27-amd64", "initrd");
        put(t->fd[1], "refind_linux.conf", "\"Standard\" \"root=UUID=" ROOT1 " ro quiet\"\n");
        put_image(t->fd[2], "vmlinuz-6.1.0-28-amd64", "kernel");
        t->fs[0] = (struct chain_fs){ .name = "/efi0",
                                      .uuid = "E500-0000",
                                      .label = "ESP0",
                                      .fstype = "vfat",
                                      .fd = t->fd[0] };
        t->fs[1] = (struct chain_fs){ .name = "/efi1",
                                      .uuid = "E501-0000",
                                      .label = "ESP1",
                                      .fstype = "vfat",
                                      .fd = t->fd[1],
                                      .this_disk = true };
        t->fs[2] = (struct chain_fs){ .name = "/boot (disk 1)",
                                      .label = "boot1",
                                      .fstype = "ext4",
                                      .fd = t->fd[2],
                                      .this_disk = true };
        t->fs[3] = (struct chain_fs){ .name = "disk 0's root", .uuid = ROOT0, .fd = -1 };
        t->fs[4] = (struct chain_fs){ .name = "/", .uuid = ROOT1, .fd = -1, .this_disk = true };
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct tree *t = *state;

        for (int i = 0; i < 3; i++)
                close(t->fd[i]);
        tree_remove(t->dir);
        free(t);
        return 0;
}

static void check(struct tree *t, struct chain_result *c)
{
        assert_int_equal(refind_chain_check(t->fs, 5, 1, "EFI/refind/refind.conf", c), 0);
}

static void assert_finding(const struct chain_result *c, enum chain_level l, const char *part)
{
        for (size_t i = 0; i < c->n; i++)
                if (c->findings[i].level == l && strstr(c->findings[i].text, part))
                        return;
        for (size_t i = 0; i < c->n; i++)
                print_error("  [%d] %s\n", c->findings[i].level, c->findings[i].text);
        fail_msg("no finding of level %d with '%s'", l, part);
}

static void test_scan_finds_the_kernel(void **state)
{
        struct chain_result c = {};

        check(*state, &c);
        for (size_t i = 0; i < c.n; i++)
                print_error("  [%d] %s\n", c.findings[i].level, c.findings[i].text);
        assert_true(c.worst < CHAIN_WARNING);
        /* The ext4 /boot is not seen without a driver: only the ESP's kernel. */
        assert_int_equal(c.n_entries, 1);
        assert_string_equal(c.default_title, "vmlinuz-6.1.0-27-amd64 on /efi1");
        assert_true(c.default_bootable);
        chain_result_done(&c);
}

static void test_scan_without_refind_linux_conf(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        assert_int_equal(unlinkat(t->fd[1], "refind_linux.conf", 0), 0);
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL,
                       "vmlinuz-6.1.0-27-amd64 on /efi1: no refind_linux.conf beside it");
        assert_false(c.default_bootable);
        chain_result_done(&c);
}

static void test_options_name_the_other_disks_root(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "refind_linux.conf", "\"Standard\" \"root=UUID=" ROOT0 " ro\"\n");
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL,
                       "the options' root= names disk 0's root, on the other disk");
        chain_result_done(&c);
}

static void test_stanza_volume_of_the_other_disk(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "EFI/refind/refind.conf",
            "scanfor manual\nmenuentry \"Debian\" {\n  volume ESP0\n"
            "  loader /vmlinuz-6.1.0-27-amd64\n}\n");
        put_image(t->fd[0], "vmlinuz-6.1.0-27-amd64", "kernel");
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL,
                       "/efi1/EFI/refind/refind.conf:2 (stanza \"Debian\"): loader "
                       "/vmlinuz-6.1.0-27-amd64 is on /efi0, on the other disk");
        assert_int_equal(c.n_entries, 1);
        assert_int_equal(c.n_bootable, 0);
        chain_result_done(&c);
}

static void test_stanza_on_ext4_needs_a_driver(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "EFI/refind/refind.conf",
            "scanfor manual\nmenuentry \"New\" {\n  volume boot1\n"
            "  loader /vmlinuz-6.1.0-28-amd64\n}\n");
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL,
                       "/boot (disk 1) is ext4, and EFI/refind/drivers_x64/ on /efi1 holds no "
                       "ext4_x64.efi");
        chain_result_done(&c);

        put(t->fd[1], "EFI/refind/drivers_x64/ext4_x64.efi", "MZ");
        check(t, &c);
        assert_true(c.worst < CHAIN_WARNING);
        assert_true(c.default_bootable);
        chain_result_done(&c);
}

static void test_missing_loader_and_default(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "EFI/refind/refind.conf",
            "default_selection Gone\nmenuentry \"Old\" {\n  loader /vmlinuz-5.10\n}\n");
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL, "loader /vmlinuz-5.10: /efi1 lacks it");
        assert_finding(&c, CHAIN_WARNING, "default_selection \"Gone\" matches no entry");
        /* The first entry, the stanza, is the default: it cannot boot. */
        assert_string_equal(c.default_title, "Old");
        assert_false(c.default_bootable);
        assert_int_equal(c.n_entries, 2); /* the stanza and the scanned kernel */
        chain_result_done(&c);
}

static void test_unreadable_conf(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "EFI/refind/refind.conf", "menuentry \"x\" {\n");
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL, "rEFInd cannot read it: the menuentry opened at line 1");
        chain_result_done(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_scan_finds_the_kernel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_scan_without_refind_linux_conf, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_options_name_the_other_disks_root, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_stanza_volume_of_the_other_disk, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_stanza_on_ext4_needs_a_driver, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_missing_loader_and_default, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_conf, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
