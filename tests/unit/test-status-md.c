/* SPDX-License-Identifier: MIT */
/*
 * --status on an md root (DESIGN.md §11 S10): the findings made from the sysfs fixture trees
 * (tests/fixtures/sysfs-md): in sync OK with its members named, degraded CRITICAL naming the
 * slot, a faulty member CRITICAL naming it and its disk, a recovery WARNING with its progress
 * and time left, a reshape WARNING; and the JSON/Prometheus root figures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

static void judge(const char *name, const char *array, struct status_report *r)
{
        char *dir = NULL;

        assert_true(asprintf(&dir, "%s/sysfs-md/%s", getenv("FIXTURES"), name) > 0);
        *r = (struct status_report){ .root_redundant = -1, .root_degraded = -1 };
        assert_int_equal(status_check_md_root(dir, array, r), 0);
        free(dir);
}

/* The first "root" finding: its level and text. */
static const struct status_finding *root_finding(const struct status_report *r)
{
        for (size_t i = 0; i < r->n; i++)
                if (strcmp(r->findings[i].check, "root") == 0)
                        return &r->findings[i];
        fail_msg("no root finding");
        return NULL;
}

static void expect(const char *name, enum status_level level, const char *text, int redundant,
                   int degraded)
{
        struct status_report r;
        const struct status_finding *f;

        judge(name, "md0", &r);
        f = root_finding(&r);
        if (f->level != level || !strstr(f->text, text))
                fail_msg("%s: got %s \"%s\", want %s \"%s\"", name,
                         status_level_to_string(f->level), f->text, status_level_to_string(level),
                         text);
        assert_int_equal(r.root_redundant, redundant);
        assert_int_equal(r.root_degraded, degraded);
        status_report_done(&r);
}

static void in_sync_is_ok_naming_members(void **state)
{
        (void)state;
        expect("clean", STATUS_OK,
               "the root's md0: raid1, clean, 2 of 2 members in sync: vda3 on vda (slot 0, "
               "in_sync), vdb3 on vdb (slot 1, in_sync)",
               1, 0);
}

static void degraded_is_critical_naming_the_slot(void **state)
{
        (void)state;
        expect("degraded", STATUS_CRITICAL,
               "the root's md0 (raid1) is degraded: 1 of its 2 members missing: slot 0: no "
               "device (its disk is gone, or the member was removed). Members: vdb3 on vdb "
               "(slot 1, in_sync)",
               0, 1);
}

static void faulty_member_is_named_with_its_disk(void **state)
{
        (void)state;
        expect("faulty", STATUS_CRITICAL, "slot 0: vda3 on vda is faulty", 0, 1);
}

static void recovery_warns_with_progress_and_time_left(void **state)
{
        (void)state;
        expect("recovering", STATUS_WARNING,
               "the root's md0 (raid1) runs a recover: 25.0% done, 2m33s left at 10240 "
               "KiB/s",
               0, 0);
}

static void reshape_warns(void **state)
{
        (void)state;
        expect("reshaping", STATUS_WARNING,
               "the root's md0 (raid5) runs a reshape: 25.0% done, 3s left at 1024 KiB/s", 0, 0);
}

static void raid10_in_sync_is_ok(void **state)
{
        (void)state;
        expect("raid10", STATUS_OK, "the root's md0: raid10, clean, 4 of 4 members in sync", 1, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(in_sync_is_ok_naming_members),
                cmocka_unit_test(degraded_is_critical_naming_the_slot),
                cmocka_unit_test(faulty_member_is_named_with_its_disk),
                cmocka_unit_test(recovery_warns_with_progress_and_time_left),
                cmocka_unit_test(reshape_warns),
                cmocka_unit_test(raid10_in_sync_is_ok),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
