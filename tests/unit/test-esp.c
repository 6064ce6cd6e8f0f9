/* SPDX-License-Identifier: MIT */
/*
 * esp.c: the ESP model (DESIGN.md §3) built from a mountinfo fixture ($FIXTURES/mountinfo)
 * and an efivars directory holding the hand-assembled variables of $FIXTURES/efivars, with
 * the ESP set given by the config (esp_mounts) so the host's /efi* directories play no part.
 * No test needs root; the booted partition is one this host does not have, so the model
 * knows the PARTUUID but not the device.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/sysmacros.h>

#include "../tools/efi-encode.h"
#include "blockdev.h"
#include "config.h"
#include "efivars-fixture.h"
#include "esp.h"
#include "util/strv.h"

#define LOADER_VAR "LoaderDevicePartUUID-" ENC_LOADER_GUID
/* What loader-upper.hex holds, as the model reports it: lower case. */
#define FIXTURE_PARTUUID "c0ffee00-1234-4abc-8def-0123456789ab"

struct fixture {
        char *efivars;
        struct libmnt_table *mounts;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        _cleanup_free_ char *path = NULL;
        const char *tmp = getenv("TMPDIR"), *fixtures = getenv("FIXTURES");

        if (!f || !fixtures)
                return -1;
        if (asprintf(&f->efivars, "%s/test-esp-XXXXXX", isempty(tmp) ? "/tmp" : tmp) < 0 ||
            !mkdtemp(f->efivars))
                return -1;
        if (asprintf(&path, "%s/mountinfo/dual-esp.mountinfo", fixtures) < 0 ||
            mounts_load(path, &f->mounts) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r = nftw(f->efivars, rm_one, 16, FTW_DEPTH | FTW_PHYS);

        free(f->efivars);
        mnt_unref_table(f->mounts);
        free(f);
        return r;
}

static struct esp_model *load_model(const struct fixture *f, const char *config_text)
{
        _cleanup_config_free_ struct config *c = NULL;
        _cleanup_free_ char *why = NULL;
        struct esp_model *m = NULL;

        if (config_parse("x.conf", config_text, strlen(config_text), &c, &why) < 0)
                fail_msg("config: %s", strna(why));
        assert_int_equal(esp_model_load(c, f->efivars, NULL, false, f->mounts, &m), 0);
        assert_non_null(m);
        return m;
}

static void assert_strv_text(char *const *l, const char *expected)
{
        _cleanup_free_ char *s = l ? strv_join(l, " | ") : strdup("(null)");

        assert_non_null(s);
        assert_string_equal(s, expected);
}

/* ---------------------------------------------------------------------------------------- */

static void test_default_esp_names_are_efi_and_digits(void **state)
{
        assert_true(esp_name_is_default("efi0"));
        assert_true(esp_name_is_default("efi1"));
        assert_true(esp_name_is_default("efi12"));
        assert_false(esp_name_is_default("efi"));
        assert_false(esp_name_is_default("efi-old"));
        assert_false(esp_name_is_default("efi0.bak"));
        assert_false(esp_name_is_default("EFI0"));
        assert_false(esp_name_is_default("boot"));
}

static void test_without_boot_variables_every_set_member_is_an_alternate(void **state)
{
        struct fixture *f = *state;
        _cleanup_esp_model_ struct esp_model *m =
                load_model(f, "esp_mounts = [\"/efi0\", \"/efi1\"]\n");

        assert_false(m->boot_ok);
        assert_false(m->device_ok);
        assert_string_equal(m->why, "LoaderDevicePartUUID is not set, and BootCurrent is not set");
        assert_true(m->esp_set_from_config);
        assert_strv_text(m->esp_set, "/efi0 | /efi1");
        assert_int_equal(m->n_alternates, 2);

        /* /efi0 is mounted twice (id 40, then 44 on top): the top one counts, same device. */
        assert_string_equal(m->alternates[0].mount, "/efi0");
        assert_true(m->alternates[0].mounted);
        assert_int_equal(m->alternates[0].devnum, makedev(259, 1));
        assert_string_equal(m->alternates[0].fstype, "vfat");
        assert_strv_text(m->alternates[0].mounts, "/efi0 | /boot | /srv/efi-tree");

        assert_string_equal(m->alternates[1].mount, "/efi1");
        assert_true(m->alternates[1].mounted);
        assert_int_equal(m->alternates[1].devnum, makedev(8, 1));
        assert_strv_text(m->alternates[1].mounts, "/efi1");
        /* Without a probe the model reads no superblock and no PARTUUID. */
        assert_null(m->alternates[1].uuid);
        assert_null(m->alternates[1].partuuid);
}

static void test_set_member_with_nothing_mounted_is_a_missing_alternate(void **state)
{
        struct fixture *f = *state;
        _cleanup_esp_model_ struct esp_model *m =
                load_model(f, "esp_mounts = [\"/efi1\", \"/efi7\"]\n");

        assert_int_equal(m->n_alternates, 2);
        assert_string_equal(m->alternates[0].mount, "/efi1");
        assert_true(m->alternates[0].mounted);
        assert_string_equal(m->alternates[1].mount, "/efi7");
        assert_false(m->alternates[1].mounted);
        assert_int_equal(m->alternates[1].devnum, 0);
        assert_null(m->alternates[1].device);
        assert_null(m->alternates[1].mounts);
}

static void test_esp_set_keeps_the_config_order(void **state)
{
        struct fixture *f = *state;
        _cleanup_esp_model_ struct esp_model *m =
                load_model(f, "esp_mounts = [\"/efi1/\", \"//efi0\"]\n");

        /* Stored normalized by the config: compared with the mount table as strings. */
        assert_strv_text(m->esp_set, "/efi1 | /efi0");
        assert_string_equal(m->alternates[0].mount, "/efi1");
        assert_int_equal(m->alternates[0].devnum, makedev(8, 1));
        assert_string_equal(m->alternates[1].mount, "/efi0");
        assert_int_equal(m->alternates[1].devnum, makedev(259, 1));
}

static void test_mount_point_below_a_mount_is_not_mounted(void **state)
{
        struct fixture *f = *state;
        /* /srv is no mount of its own (only /srv/efi-tree is): a directory of the root. */
        _cleanup_esp_model_ struct esp_model *m = load_model(f, "esp_mounts = [\"/srv\"]\n");

        assert_int_equal(m->n_alternates, 1);
        assert_false(m->alternates[0].mounted);
}

static void test_loader_variable_names_the_partition_the_host_lacks(void **state)
{
        struct fixture *f = *state;
        _cleanup_esp_model_ struct esp_model *m = NULL;
        _cleanup_free_ char *prefix = NULL;

        put_fixture(f->efivars, "loader-upper.hex", LOADER_VAR);
        m = load_model(f, "esp_mounts = [\"/efi0\", \"/efi1\"]\n");

        assert_true(m->boot_ok);
        assert_int_equal(m->boot.method, BOOT_METHOD_LOADER);
        assert_string_equal(m->boot.partuuid, FIXTURE_PARTUUID);
        assert_string_equal(m->booted.partuuid, FIXTURE_PARTUUID);
        assert_false(m->device_ok);
        assert_true(asprintf(&prefix,
                             "the firmware booted from PARTUUID %s (LoaderDevicePartUUID): ",
                             FIXTURE_PARTUUID) > 0);
        if (!startswith(m->why, prefix))
                fail_msg("why: '%s', expected it to start with '%s'", m->why, prefix);
        /* Unknown device: no set member can be ruled out as the booted one. */
        assert_null(m->booted.mount);
        assert_int_equal(m->n_alternates, 2);
}

/* DESIGN.md §3 D3 for the source: with the partition type unreadable (no device here), the
 * tree must hold an EFI directory, in any case, a real one. */
static void test_source_identity_needs_an_esp_like_tree(void **state)
{
        char dir[] = "/tmp/test-esp-source.XXXXXX", *p = NULL, *why = NULL;
        struct esp booted = { .device = NULL, .partuuid = (char *)"6a1e0c5b-0000" };
        int fd;

        (void)state;
        assert_non_null(mkdtemp(dir));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(esp_check_source(&booted, fd, "/efi0/", &why), -EMEDIUMTYPE);
        assert_string_equal(why, "the booted ESP '/efi0/' (n/a, PARTUUID 6a1e0c5b-0000) has no EFI "
                                 "directory and its partition type cannot be read: it may not be "
                                 "an ESP (a data partition on an ESP mount point?); not mirroring "
                                 "it onto the alternates. Check what the firmware booted and what "
                                 "is mounted there");
        /* a symlink named EFI is no directory of the tree */
        assert_true(asprintf(&p, "%s/EFI", dir) >= 0);
        assert_int_equal(symlink("/", p), 0);
        assert_false(esp_tree_has_efi_dir(fd));
        assert_int_equal(unlink(p), 0);
        free(p);
        assert_true(asprintf(&p, "%s/eFi", dir) >= 0);
        assert_int_equal(mkdir(p, 0755), 0);
        assert_true(esp_tree_has_efi_dir(fd));
        assert_int_equal(esp_check_source(&booted, fd, "/efi0/", NULL), 0);
        assert_int_equal(rmdir(p), 0);
        assert_int_equal(rmdir(dir), 0);
        close(fd);
        free(p);
        free(why);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_esp_names_are_efi_and_digits),
                cmocka_unit_test(test_source_identity_needs_an_esp_like_tree),
                cmocka_unit_test_setup_teardown(
                        test_without_boot_variables_every_set_member_is_an_alternate, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        test_set_member_with_nothing_mounted_is_a_missing_alternate, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(test_esp_set_keeps_the_config_order, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_mount_point_below_a_mount_is_not_mounted,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_loader_variable_names_the_partition_the_host_lacks, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
