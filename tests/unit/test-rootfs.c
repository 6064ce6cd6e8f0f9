/* SPDX-License-Identifier: MIT */
/*
 * rootfs.c's one definition of redundancy (DESIGN.md §11 rule S6, §12 rule 7): how many
 * devices each btrfs profile can lose, which profiles are weak, and the balance filters
 * --add-disk runs, which raise only the weak block groups and never lower a redundant one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/btrfs_tree.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs.h"

#define SINGLE ROOTFS_PROFILE_SINGLE
#define DUP BTRFS_BLOCK_GROUP_DUP
#define RAID0 BTRFS_BLOCK_GROUP_RAID0
#define RAID1 BTRFS_BLOCK_GROUP_RAID1
#define RAID1C3 BTRFS_BLOCK_GROUP_RAID1C3
#define RAID1C4 BTRFS_BLOCK_GROUP_RAID1C4
#define RAID10 BTRFS_BLOCK_GROUP_RAID10
#define RAID5 BTRFS_BLOCK_GROUP_RAID5
#define RAID6 BTRFS_BLOCK_GROUP_RAID6

static void tolerance_of_each_profile(void **state)
{
        (void)state;
        assert_int_equal(rootfs_profiles_tolerance(SINGLE), 0);
        assert_int_equal(rootfs_profiles_tolerance(DUP), 0);
        assert_int_equal(rootfs_profiles_tolerance(RAID0), 0);
        assert_int_equal(rootfs_profiles_tolerance(RAID1), 1);
        assert_int_equal(rootfs_profiles_tolerance(RAID1C3), 2);
        assert_int_equal(rootfs_profiles_tolerance(RAID1C4), 3);
        assert_int_equal(rootfs_profiles_tolerance(RAID10), 1);
        assert_int_equal(rootfs_profiles_tolerance(RAID5), 1);
        assert_int_equal(rootfs_profiles_tolerance(RAID6), 2);
        assert_int_equal(rootfs_profiles_tolerance(0), 0);
}

static void mixed_profiles_count_as_the_weakest(void **state)
{
        (void)state;
        /* during a conversion, or after a degraded mount wrote single chunks */
        assert_int_equal(rootfs_profiles_tolerance(RAID1C3 | RAID1), 1);
        assert_int_equal(rootfs_profiles_tolerance(RAID1C4 | SINGLE), 0);
        assert_int_equal(rootfs_profiles_tolerance(RAID6 | RAID1C3), 2);
        /* a bit we do not know is judged as no redundancy, not guessed */
        assert_int_equal(rootfs_profiles_tolerance(RAID1 | (UINT64_C(1) << 40)), 0);
}

static void redundant_is_tolerance_one_or_more(void **state)
{
        (void)state;
        const uint64_t yes[] = { RAID1, RAID1C3, RAID1C4, RAID10, RAID5, RAID6, RAID1 | RAID1C3 };
        const uint64_t no[] = { 0, SINGLE, DUP, RAID0, RAID1 | SINGLE, RAID10 | DUP };

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
                assert_true(rootfs_profiles_redundant(yes[i]));
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
                assert_false(rootfs_profiles_redundant(no[i]));
}

static void weak_profiles_are_single_dup_raid0(void **state)
{
        (void)state;
        assert_int_equal(rootfs_profiles_weak(SINGLE | DUP | RAID0 | RAID1 | RAID1C3 | RAID10),
                         SINGLE | DUP | RAID0);
        assert_int_equal(rootfs_profiles_weak(RAID1C4 | RAID6 | RAID5), 0);
}

static void filters(uint64_t data, uint64_t meta, uint64_t sys, const char *want_d,
                    const char *want_m)
{
        struct rootfs_btrfs b = { .data_profiles = data,
                                  .metadata_profiles = meta,
                                  .system_profiles = sys };
        char *d = (char *)"unset", *m = (char *)"unset";

        assert_int_equal(rootfs_btrfs_raise_filters(&b, &d, &m), 0);
        if (want_d)
                assert_string_equal(d, want_d);
        else
                assert_null(d);
        if (want_m)
                assert_string_equal(m, want_m);
        else
                assert_null(m);
        free(d);
        free(m);
}

static void raise_filters_never_lower_a_redundant_profile(void **state)
{
        (void)state;
        /* raid1c3 and raid10 chunks beside single ones written while degraded: only the
         * single ones are named, and raised to the filesystem's own profile; a plain
         * "-dconvert=raid1,soft" would lower the others to raid1 */
        filters(RAID1C3 | SINGLE, RAID1C3, RAID1C3, "-dconvert=raid1c3,soft,profiles=single", NULL);
        filters(RAID10 | SINGLE, RAID1C4 | DUP, RAID1C4, "-dconvert=raid10,soft,profiles=single",
                "-mconvert=raid1c4,soft,profiles=dup");
        filters(RAID1 | SINGLE, RAID1 | SINGLE, RAID1 | SINGLE,
                "-dconvert=raid1,soft,profiles=single", "-mconvert=raid1,soft,profiles=single");
        /* every data chunk single (a degraded mount wrote the only one): raised to the
         * filesystem's own profile, the metadata's, not to raid1 (t-adddisk-raid1c3 met
         * this when its filesystem held one data chunk) */
        filters(SINGLE, RAID1C3, RAID1C3, "-dconvert=raid1c3,soft,profiles=single", NULL);
        filters(RAID1C4, SINGLE, SINGLE, NULL, "-mconvert=raid1c4,soft,profiles=single");
        /* a single-device root after "btrfs device add" (--raid1): data single, metadata dup,
         * nothing redundant yet: raid1 */
        filters(SINGLE, DUP, DUP, "-dconvert=raid1,soft,profiles=single",
                "-mconvert=raid1,soft,profiles=dup");
        /* only the system chunks weak: -m's filter covers them (btrfs-progs); the target is
         * the strongest of metadata and system */
        filters(RAID1, RAID1C3, SINGLE | RAID1C3, NULL, "-mconvert=raid1c3,soft,profiles=single");
        filters(SINGLE | DUP | RAID0, RAID1, RAID1,
                "-dconvert=raid1,soft,profiles=single|dup|raid0", NULL);
        filters(RAID6 | RAID5 | SINGLE, RAID6, RAID6, "-dconvert=raid6,soft,profiles=single", NULL);
        /* nothing weak: nothing to run */
        filters(RAID1C3, RAID1C4, RAID1C4, NULL, NULL);
        filters(RAID5, RAID6, RAID1, NULL, NULL);
}

static void tolerance_of_a_filesystem(void **state)
{
        (void)state;
        struct rootfs_btrfs b = { .data_profiles = RAID1C3,
                                  .metadata_profiles = RAID1C4,
                                  .system_profiles = RAID1C4 };

        assert_int_equal(rootfs_btrfs_tolerance(&b), 2);
        b.system_profiles = RAID1;
        assert_int_equal(rootfs_btrfs_tolerance(&b), 1);
        b.data_profiles = RAID1C3 | SINGLE;
        assert_int_equal(rootfs_btrfs_tolerance(&b), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(tolerance_of_each_profile),
                cmocka_unit_test(mixed_profiles_count_as_the_weakest),
                cmocka_unit_test(redundant_is_tolerance_one_or_more),
                cmocka_unit_test(weak_profiles_are_single_dup_raid0),
                cmocka_unit_test(raise_filters_never_lower_a_redundant_profile),
                cmocka_unit_test(tolerance_of_a_filesystem),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
