/* SPDX-License-Identifier: MIT */
#pragma once

/* What the files of --add-disk (adddisk.c, adddisk-check.c, adddisk-plan.c, adddisk-esp.c,
 * adddisk-root.c, adddisk-twin.c) share: the run's state, the steps, the helpers they use. Not
 * an interface for anything else. */

#include <stdio.h>
#include <sys/types.h>

#include <libmount.h>

#include "adddisk.h"
#include "disk.h"
#include "gpt.h"
#include "sync.h"
#include "util/macro.h"
#include "util/progress.h"
#include "util/time-util.h"

/* One partition of the booted disk that the twin gets a filesystem on (§12b A2). */
struct twin_part {
        size_t partno;   /* 0-based, as struct gpt_part */
        char *fstype;    /* the booted partition's: "ext4", "swap", ... */
        char *label;     /* the booted partition's, or NULL */
        char *new_label; /* the twin's (A3), or NULL */
        char *mount;     /* where the booted partition is mounted ("/", "/boot"), or NULL */
        char *target;    /* the twin's mount point (A4): alt_root + mount, or NULL */
        char *dev;       /* the new disk's partition device, once known */
        char *uuid;      /* the twin's filesystem UUID, once made */
        bool xbootldr;   /* GPT type XBOOTLDR */
};

struct ad {
        const struct adddisk_args *a;
        const struct esp_model *m;
        FILE *out;

        char *disk; /* "/dev/vdb" */
        char *disk_name;
        dev_t disk_devnum;
        uint64_t disk_bytes;
        char *boot_disk;
        char *boot_disk_name;

        struct gpt_layout boot;
        struct gpt_layout layout; /* the new disk's, once read or written */
        bool resume;              /* the disk already has the booted disk's layout */
        bool wrote_table;

        size_t esp_partno, root_partno;
        bool have_root_part;
        char *esp_dev, *root_dev; /* the new disk's partition devices */
        char *esp_mount;          /* "/efi2", or the missing disk's "/efi0" (step 1) */
        bool esp_mounted;         /* there, by an earlier run */
        char *replace_src;        /* the missing ESP's fstab source, "PARTUUID=..." */

        int step;
        usec_t step_started;

        /* Approach 2 (DESIGN.md §12b): the root is neither btrfs nor on md, so the new disk
         * becomes the booted disk's twin (adddisk-twin.c), decided at step 1. */
        bool twin;
        char *alt_root;       /* where the twin's root is mounted: "/mnt/root1" */
        struct twin_part *tw; /* the booted disk's partitions with a filesystem, but the ESP */
        size_t n_tw;
};

_printf_(2, 3) void say(struct ad *d, const char *fmt, ...);
char *argv_to_string(char *const *argv);
int run_prog(char *const *argv, bool show, char **why);
int run_or_show(struct ad *d, char *const *argv, char **why);
FILE *progress_out(const struct ad *d);
enum progress_level progress_level(const struct ad *d);
int partition_node(struct ad *d, const struct gpt_part *p, char **ret);
int mount_from_fstab(const char *fstab, const char *target, char **why);
int load_model(const struct config *c, struct libmnt_table **ret_t, struct esp_model **ret_m,
               char **why);

/* What libblkid recognises on node, in bytes [off, off+size) (size 0: all of it): "a gpt
 * partition table", "a vfat signature (UUID X)". */
int signatures_in(const char *node, uint64_t off, uint64_t size, bool whole, char ***ret);

/* adddisk-check.c: step 1, the checks (DESIGN.md §12 rules 1-3, 8) */
int step_check(struct ad *d, struct libmnt_table *t, char **why);
/* The md arrays the root is on (directly, or LUKS/LVM on them); empty when none. */
int root_md_arrays(struct libmnt_table *t, char ***ret);

/* adddisk-plan.c: step 1, where the new ESP goes (§12 rule 9) */
int plan_mount(struct ad *d, struct libmnt_table *t, char **why);

/* adddisk-esp.c: steps 4 to 6, the new ESP's filesystem and mount, content, boot entry */
int step_esp(struct ad *d, struct libmnt_table *t, char **why);
int step_sync(struct ad *d, struct libmnt_table *mounts, char **why);
int step_bootentry(struct ad *d, struct libmnt_table *mounts, char **why);

/* adddisk-root.c: step 7 on a btrfs or md root (§12 rules 6, 7, 9) */
int step_root(struct ad *d, struct libmnt_table *t, char **why);

/* adddisk-twin.c (DESIGN.md §12b) */
int twin_plan(struct ad *d, struct libmnt_table *t, char **why);
int twin_filesystems(struct ad *d, struct libmnt_table *t, char **why);
int twin_check_driver(struct ad *d, const char *esp, char **why);

/* The sync as -s plans it: fstab into *ret_fstab (NULL when unreadable; the caller unrefs
 * it), the config checked (§5 rule 11), the plan into *ret_plan (done by the caller, also
 * after an error). */
int ad_sync_plan(struct ad *d, const struct esp_model *m, struct libmnt_table *t,
                 struct libmnt_table **ret_fstab, struct sync_plan *ret_plan, char **why);

/* A twin's label: label's trailing number replaced by the one ending number_from ("/efi1",
 * "/mnt/root1"), else incremented ("root0" -> "root1"); label itself without a number. NULL:
 * label NULL or out of memory. */
char *twin_label(const char *label, const char *number_from);
int twin_first_copy(struct ad *d, char **why);
void twin_done(struct ad *d);
/* mkdir -p path (mode 0755) */
int mkdir_under(const char *path);
bool twin_mounted_here(const struct ad *d, const char *target);
