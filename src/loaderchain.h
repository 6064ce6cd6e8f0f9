/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A boot loader's chain on one disk, judged as if the other disk were gone (DESIGN.md
 * §11b): the types every loader reader shares (grubchain.c, refindchain.c). The caller
 * gives the filesystems the loader could find: those of the disk judged (with a directory
 * to read them through, or none when they are not mounted) and those of the other disks,
 * which no link may depend on.
 */

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

struct chain_fs {
        const char *name;      /* for messages: its mount point or device */
        const char *uuid;      /* filesystem UUID as loaders compare it (vfat "ABCD-1234") */
        const char *label;     /* filesystem label, or NULL */
        const char *partuuid;  /* partition GUID, or NULL */
        const char *partlabel; /* partition name, or NULL */
        const char *fstype;    /* "vfat", "ext4", ... or NULL when unknown */
        int fd;                /* its root directory; -1: not mounted, its files cannot be read */
        bool this_disk;        /* on the disk being judged */
};

enum chain_level {
        CHAIN_LINK,     /* one link of the chain as it is followed (--status -v, L9) */
        CHAIN_NOTE,     /* how the chain goes, said in the report */
        CHAIN_WARNING,  /* boots, but not as configured (a default that matches nothing) */
        CHAIN_UNKNOWN,  /* a link could not be followed: not mounted, not understood */
        CHAIN_CRITICAL, /* a link this disk alone cannot satisfy */
};

struct chain_finding {
        enum chain_level level;
        char *text;
};

struct chain_result {
        struct chain_finding *findings;
        size_t n;
        size_t n_entries;      /* entries the menu offers that load a kernel or loader */
        size_t n_bootable;     /* of these, entries whose every file this disk holds */
        char *default_title;   /* the entry booted without a key press, NULL if none */
        bool default_bootable; /* and whether this disk holds all it needs */
        bool root_unchecked;   /* a root= the chain could not place on a disk (L11) */
        enum chain_level worst;
};

void chain_result_done(struct chain_result *c);

/* Appends a finding. Returns 0 or -ENOMEM. */
int chain_add(struct chain_result *c, enum chain_level l, const char *format, ...) _printf_(3, 4);

/* The worst level among the findings. */
enum chain_level chain_worst(const struct chain_result *c);

/* The filesystem of fss matching a loader's reference: kind "uuid" (case-insensitive),
 * "label", "partuuid" (case-insensitive), "partlabel"; of this disk first, else of another
 * disk; -1 when none. */
int chain_find_fs(const struct chain_fs *fss, size_t n, const char *kind, const char *value);

/* Whether a kernel command line names as root= a filesystem of another disk than the one
 * judged (UUID=, PARTUUID=, LABEL=, PARTLABEL= forms): 1 with *ret_fs its index, else 0. */
int chain_cmdline_foreign_root(const struct chain_fs *fss, size_t n, const char *cmdline,
                               int *ret_fs);
