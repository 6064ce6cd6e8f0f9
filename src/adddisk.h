/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * --add-disk DEVICE (DESIGN.md §12): prepares a new or replacement disk as a full member of the
 * machine, in named steps, each idempotent, so that a run interrupted anywhere continues when
 * run again:
 *   1 check          a whole disk holding nothing the machine uses, big enough
 *   2 partitions     a GPT laid out like the booted disk's (libfdisk), new GUIDs
 *   3 devices        the partition devices and their /dev/disk/by-partuuid links
 *   4 ESP            FAT32 (mkfs.vfat), its fstab line, mounted: on the missing disk's
 *                    /efi<N> (its line given the new PARTUUID), else the next free one
 *                    (chosen at step 1, DESIGN.md §12 rule 9)
 *   5 ESP content    the normal sync from the booted ESP (the sync engine, all its rules)
 *   6 boot entry     its NVRAM boot entry (bootentry_fix)
 *   7 root           approach 1's btrfs root: replace a missing device, or (raid1) add and
 *                    convert; an md root: add the new disk's twin partition to each
 *                    degraded array and follow the recovery
 * Any other root on the booted disk makes the new disk its approach-2 twin (DESIGN.md §12b,
 * adddisk-twin.c): step 4 ("filesystems and mounts") makes and mounts every filesystem like
 * the booted disk's before the ESP, step 7 ("first copy") runs the sync list onto it.
 * The boot-readiness report (--status) is main.c's, after the last step.
 */

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "esp.h"

struct adddisk_args {
        const char *device;
        const struct config *config;
        bool test;    /* show every step, change nothing */
        bool force;   /* destroy the signatures found (named first) */
        bool raid1;   /* convert a single-device btrfs root to raid1 across both disks, or grow
                         a single-member md raid1 root to two */
        FILE *out;    /* the steps as they run; NULL: silent (no progress either) */
        bool verbose; /* progress lines more often off a terminal (util/progress.h) */
};

enum {
        ADDDISK_STEP_CHECK,
        ADDDISK_STEP_GPT,
        ADDDISK_STEP_DEVICES,
        ADDDISK_STEP_ESP,
        ADDDISK_STEP_SYNC,
        ADDDISK_STEP_BOOTENTRY,
        ADDDISK_STEP_ROOT,
        ADDDISK_STEPS,
};

/* "check", "partition table", ... */
const char *adddisk_step_name(int step);

/*
 * Runs the steps on a->device for the machine model m (built with the real mount table). Returns
 * 0 when every step is done (or, in test mode, shown), else -errno with *why saying which step
 * failed and why, which steps are done and which are not.
 */
/*
 * When the booted ESP is mounted, but on no ESP mount point (a distribution's /boot/efi):
 * the way on as a sentence naming the config line to set and the next command, for --add-disk
 * (device, or NULL: "DEVICE"), -b and -s (DESIGN.md §12b A8). NULL when it is not so (or on
 * ENOMEM).
 */
char *adddisk_esp_hint(const struct esp_model *m, const struct config *c, const char *device);

int adddisk_run(const struct adddisk_args *a, const struct esp_model *m, char **why);
