/* SPDX-License-Identifier: MIT */
/*
 * md.c (DESIGN.md §11 rule S10): md arrays read from sysfs fixture trees
 * (tests/fixtures/sysfs-md: clean, degraded, recovering, reshaping, raid10, faulty, no uuid),
 * whether an array survives the loss of a disk, and mdadm.conf's ARRAY lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "md.h"
#include "util/macro.h"
#include "util/strv.h"

#define UUID "3b2e5f0c91d44b7a8e216c0f9a1d2e34"

static char *fixture(const char *name)
{
        const char *base = getenv("FIXTURES");
        char *p;

        assert_non_null(base);
        assert_true(asprintf(&p, "%s/sysfs-md/%s", base, name) > 0);
        return p;
}

static void load(const char *name, const char *array, struct md_array *a)
{
        _cleanup_free_ char *dir = fixture(name), *why = NULL;
        int r = md_array_read(dir, array, a, &why);

        if (r < 0)
                fail_msg("%s/%s: %d %s", name, array, r, why ? why : "");
}

static void clean_raid1(void **state)
{
        struct md_array a = {};
        char *gone_a[] = { "vda", NULL }, *gone_b[] = { "vdb", NULL },
             *gone_both[] = { "vda", "vdb", NULL };

        (void)state;
        load("clean", "md0", &a);
        assert_string_equal(a.level, "raid1");
        assert_string_equal(a.array_state, "clean");
        assert_string_equal(a.sync_action, "idle");
        assert_string_equal(a.uuid, UUID);
        assert_int_equal(a.raid_disks, 2);
        assert_int_equal(a.degraded, 0);
        assert_false(a.sync_running);
        assert_int_equal(a.n_members, 2);
        assert_string_equal(a.members[0].name, "vda3");
        assert_string_equal(a.members[0].disk, "vda");
        assert_int_equal(a.members[0].partno, 3);
        assert_int_equal(a.members[0].slot, 0);
        assert_true(a.members[0].in_sync);
        assert_string_equal(a.members[1].name, "vdb3");
        assert_string_equal(a.members[1].disk, "vdb");
        assert_int_equal(a.members[1].slot, 1);
        assert_true(md_survives(&a, NULL));
        assert_true(md_survives(&a, gone_a));
        assert_true(md_survives(&a, gone_b));
        assert_false(md_survives(&a, gone_both));
        assert_true(md_redundant(&a));
        assert_int_equal(md_sync_seconds_left(&a, NULL), -1);
        md_array_done(&a);
}

static void degraded_raid1(void **state)
{
        struct md_array a = {};
        char *gone_a[] = { "vda", NULL }, *gone_b[] = { "vdb", NULL };

        (void)state;
        load("degraded", "md0", &a);
        assert_int_equal(a.degraded, 1);
        assert_int_equal(a.n_members, 1);
        assert_null(md_member_in_slot(&a, 0));
        assert_string_equal(md_member_in_slot(&a, 1)->name, "vdb3");
        assert_true(md_survives(&a, NULL));
        /* vdb alone still assembles it; without vdb nothing does */
        assert_true(md_survives(&a, gone_a));
        assert_false(md_survives(&a, gone_b));
        assert_false(md_redundant(&a));
        md_array_done(&a);
}

static void recovering_raid1(void **state)
{
        struct md_array a = {};
        char *gone_b[] = { "vdb", NULL };
        unsigned permille = 0;

        (void)state;
        load("recovering", "md0", &a);
        assert_string_equal(a.sync_action, "recover");
        assert_true(a.sync_running);
        assert_int_equal(a.sync_done, 1048576);
        assert_int_equal(a.sync_total, 4194304);
        assert_int_equal(a.sync_speed, 10240);
        /* 3145728 sectors left = 1536 MiB at 10 MiB/s */
        assert_int_equal(md_sync_seconds_left(&a, &permille), 153);
        assert_int_equal(permille, 250);
        /* the member being rebuilt holds slot 0 but is not in sync: vda alone does not
         * assemble the root yet */
        assert_string_equal(md_member_in_slot(&a, 0)->name, "vda3");
        assert_false(md_member_in_slot(&a, 0)->in_sync);
        assert_false(md_survives(&a, gone_b));
        assert_false(md_redundant(&a));
        md_array_done(&a);
}

static void reshaping_raid5(void **state)
{
        struct md_array a = {};
        char *gone_c[] = { "vdc", NULL }, *gone_bc[] = { "vdb", "vdc", NULL };

        (void)state;
        load("reshaping", "md0", &a);
        assert_string_equal(a.level, "raid5");
        assert_int_equal(a.raid_disks, 3); /* "3 (2)": growing from 2 */
        assert_string_equal(a.sync_action, "reshape");
        assert_int_equal(md_sync_seconds_left(&a, NULL), 3); /* 6144 sectors at 1 MiB/s */
        assert_true(md_survives(&a, gone_c));
        assert_false(md_survives(&a, gone_bc));
        assert_true(md_redundant(&a));
        md_array_done(&a);
}

static void raid10_near_and_far(void **state)
{
        struct md_array a = {}, f = {};
        char *gone_a[] = { "vda", NULL }, *gone_b[] = { "vdb", NULL };

        (void)state;
        load("raid10", "md0", &a);
        assert_string_equal(a.level, "raid10");
        assert_int_equal(a.layout, 258); /* near=2 */
        assert_int_equal(a.n_members, 4);
        /* mirror pairs (slot 0, 1) and (2, 3), each across vda and vdb */
        assert_true(md_survives(&a, gone_a));
        assert_true(md_survives(&a, gone_b));
        assert_true(md_redundant(&a));
        /* slots 0 and 1 both lost: a whole mirror group gone */
        a.members[0].in_sync = false;
        a.members[1].in_sync = false;
        assert_false(md_survives(&a, NULL));
        /* slots 1 and 2 lost: each group keeps one */
        a.members[0].in_sync = true;
        a.members[2].in_sync = false;
        assert_true(md_survives(&a, NULL));
        md_array_done(&a);

        load("raid10", "md1", &f);
        assert_int_equal(f.layout, 513); /* far=2 */
        assert_true(md_survives(&f, gone_a));
        assert_true(md_redundant(&f));
        md_array_done(&f);
}

static void faulty_member_and_luks_on_md(void **state)
{
        _cleanup_free_ char *dir = fixture("faulty");
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *disk = NULL;
        struct md_array a = {};

        (void)state;
        load("faulty", "md0", &a);
        assert_string_equal(a.members[0].name, "vda3");
        assert_true(a.members[0].faulty);
        assert_false(a.members[0].in_sync);
        assert_string_equal(a.members[0].state, "faulty");
        assert_false(md_redundant(&a));
        md_array_done(&a);

        /* dm-0 (253:0) is built on md0: the root on LUKS on md is on md0 */
        assert_int_equal(md_arrays_under(dir, makedev(253, 0), &l), 0);
        assert_int_equal(strv_length(l), 1);
        assert_string_equal(l[0], "md0");
        strv_free(l);
        l = NULL;
        assert_int_equal(md_arrays_under(dir, makedev(9, 0), &l), 0);
        assert_string_equal(l[0], "md0");
        assert_int_equal(disk_whole_name(dir, makedev(9, 0), &disk), 0);
        assert_string_equal(disk, "md0");
}

static void no_uuid_and_no_array(void **state)
{
        _cleanup_free_ char *dir = fixture("clean"), *why = NULL;
        _cleanup_strv_free_ char **l = NULL;
        struct md_array a = {};

        (void)state;
        load("nouuid", "md0", &a);
        assert_null(a.uuid);
        md_array_done(&a);
        assert_true(md_uuid_equal("3b2e5f0c:91d44b7a:8e216c0f:9a1d2e34",
                                  "3B2E5F0C-91D4-4B7A-8E21-6C0F9A1D2E34"));
        assert_false(md_uuid_equal("3b2e5f0c:91d44b7a:8e216c0f:9a1d2e35", UUID));
        assert_false(md_uuid_equal(NULL, UUID));
        /* vda is no array */
        assert_int_equal(md_array_read(dir, "vda", &a, &why), -ENOENT);
        assert_non_null(strstr(why, "vda is no md array"));
        /* a device sysfs does not know */
        assert_true(md_arrays_under(dir, makedev(8, 99), &l) < 0);
}

static void conf(const char *text, int want, unsigned want_line, const char *want_devices)
{
        _cleanup_free_ char *devices = NULL;
        unsigned line = 0;

        assert_int_equal(
                md_conf_find(text, "3b2e5f0c-91d4-4b7a-8e21-6c0f9a1d2e34", &line, &devices), want);
        if (want != 1)
                return;
        assert_int_equal(line, want_line);
        if (want_devices)
                assert_string_equal(devices, want_devices);
        else
                assert_null(devices);
}

static void mdadm_conf_array_lines(void **state)
{
        (void)state;
        /* mdadm --detail --scan's form: UUID as four colon-separated words */
        conf("# mdadm.conf\nHOMEHOST <system>\n"
             "ARRAY /dev/md/0 metadata=1.2 UUID=3b2e5f0c:91d44b7a:8e216c0f:9a1d2e34 name=h:0\n",
             1, 3, NULL);
        /* continuation line, lower-case keyword shortened, devices= */
        conf("MAILADDR root\narr /dev/md0 level=raid1\n   uuid=3B2E5F0C:91D44B7A:8E216C0F:9A1D2E34 "
             "devices=/dev/vda3,/dev/vdb3\n",
             1, 2, "/dev/vda3,/dev/vdb3");
        /* the line is missing: another array's only */
        conf("ARRAY /dev/md1 UUID=0c6a1f5e:2b774d0e:9a3c5e8d:7f61b209\n", 0, 0, NULL);
        /* commented out */
        conf("#ARRAY /dev/md0 UUID=3b2e5f0c:91d44b7a:8e216c0f:9a1d2e34\n", 0, 0, NULL);
        /* a UUID cut short is none */
        conf("ARRAY /dev/md0 UUID=3b2e5f0c:91d44b7a:8e216c0f\n", 0, 0, NULL);
        conf("", 0, 0, NULL);
        /* DEVICE lines do not count */
        conf("DEVICE uuid=3b2e5f0c:91d44b7a:8e216c0f:9a1d2e34\n", 0, 0, NULL);
}

static void mdadm_conf_fixture_file(void **state)
{
        _cleanup_free_ char *p = NULL, *text = NULL, *devices = NULL;
        const char *base = getenv("FIXTURES");
        unsigned line = 0;
        size_t n = 0;
        FILE *f;

        (void)state;
        assert_true(asprintf(&p, "%s/sysfs-md/mdadm.conf-missing", base) > 0);
        f = fopen(p, "re");
        assert_non_null(f);
        assert_true(getdelim(&text, &n, 0, f) > 0);
        fclose(f);
        assert_int_equal(md_conf_find(text, UUID, &line, &devices), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(clean_raid1),
                cmocka_unit_test(degraded_raid1),
                cmocka_unit_test(recovering_raid1),
                cmocka_unit_test(reshaping_raid5),
                cmocka_unit_test(raid10_near_and_far),
                cmocka_unit_test(faulty_member_and_luks_on_md),
                cmocka_unit_test(no_uuid_and_no_array),
                cmocka_unit_test(mdadm_conf_array_lines),
                cmocka_unit_test(mdadm_conf_fixture_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
