/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * GRUB's chain on one disk, followed as GRUB would with the other disk gone (DESIGN.md
 * §11b): the stub the firmware's entry starts (EFI/<distributor>/grub.cfg beside
 * grubx64.efi), each `search` it runs, the `configfile` it reads, the menu, the default
 * entry and the kernel and initrds each entry loads. A link that only the other disk could
 * satisfy is a finding naming file, line and identifier.
 *
 * The filesystems GRUB could find are given by the caller: those of this disk (with a
 * directory to read them through, or none when they are not mounted) and those of the
 * other disks (which a `search` must not depend on).
 */

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

struct grub_fs {
        const char *name;  /* for messages: its mount point or device */
        const char *uuid;  /* as GRUB compares it (vfat "ABCD-1234"): case-insensitive */
        const char *label; /* or NULL */
        int fd;            /* its root directory; -1: not mounted, its files cannot be read */
        bool this_disk;    /* on the disk being judged */
};

enum grub_chain_level {
        GRUB_CHAIN_NOTE,     /* how the chain goes (shown with -v) */
        GRUB_CHAIN_WARNING,  /* boots, but not as configured (a default that matches nothing) */
        GRUB_CHAIN_UNKNOWN,  /* a link could not be followed: not mounted, not understood */
        GRUB_CHAIN_CRITICAL, /* a link this disk alone cannot satisfy */
};

struct grub_chain_finding {
        enum grub_chain_level level;
        char *text;
};

struct grub_chain {
        struct grub_chain_finding *findings;
        size_t n;
        size_t n_entries;      /* kernel entries the menu offers */
        size_t n_bootable;     /* of these, entries whose every file this disk holds */
        char *default_title;   /* the entry GRUB boots without a key press, NULL if none */
        bool default_bootable; /* and whether this disk holds all it needs */
        enum grub_chain_level worst;
};

void grub_chain_done(struct grub_chain *c);

/*
 * Follows the chain from stub (a path on fss[start], which must have a directory), the file
 * GRUB reads first. GRUB starts with $root the device it was loaded from (fss[start]) and
 * $prefix the stub's directory. Returns 0 with *ret filled (findings say what is wrong), or
 * -ENOMEM.
 */
int grub_chain_check(const struct grub_fs *fss, size_t n_fs, size_t start, const char *stub,
                     struct grub_chain *ret);

/* The path of the GRUB stub on an ESP, if one of the known places holds one (EFI/<vendor>/
 * grub.cfg for the vendors GRUB packages use, EFI/BOOT/grub.cfg), else NULL (static). */
const char *grub_find_stub(int esp_fd);
