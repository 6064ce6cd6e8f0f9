/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The ESP model the rest of the tool works on (DESIGN.md §3): which ESP the firmware booted from,
 * the ESP set (config esp_mounts, or every /efi<N> directory of /), and the alternates.
 */

#include <stdbool.h>
#include <sys/types.h>

#include <libmount.h>

#include "efivars.h"

struct config;

struct esp {
        char *mount;  /* ESP mount point of the set (e.g. "/efi1"); for the booted ESP, the
                         first set member it is mounted on, or NULL */
        bool mounted; /* mount is a mount point (for alternates) */
        char *device; /* "/dev/sdb1", or NULL when not known (not mounted) */
        dev_t devnum;
        char *partuuid; /* lower case, or NULL */
        char *uuid;     /* filesystem UUID, or NULL */
        char *fstype;
        char **mounts; /* every mount point of the device, bind mounts included */
};

struct esp_model {
        /* Booted ESP: identified when boot_ok; resolved to a device when device_ok. */
        bool boot_ok;
        bool device_ok;
        struct efi_boot boot;
        char *why; /* why the booted ESP is unknown (!boot_ok or !device_ok) */
        /* The booted ESP, or an ESP mount of the set, is on md RAID (DESIGN.md §11 rule S10):
         * refused (device_ok false), this says why and how to split it. NULL otherwise. */
        char *md_refusal;
        struct esp booted;

        char **esp_set; /* the ESP mount points considered, in order */
        bool esp_set_from_config;
        struct esp *alternates; /* every set member that is not the booted ESP */
        size_t n_alternates;
};

/*
 * Builds the model. efivars_dir: efi_vars_dir(); sysfs_root: esp_sysfs_root(), where a boot
 * entry that names a whole disk is resolved to that disk's only ESP (NULL: not at all);
 * probe: read each ESP's superblock (UUID, type) and the alternates' PARTUUIDs, which
 * only reports show (syncing needs device numbers and mounts alone); t: the mount table (whose
 * targets are compared with the ESP set's paths as strings). A booted ESP that cannot be identified
 * is not an error here (boot_ok/device_ok say so, why explains): the caller decides. Returns 0 or
 * -ENOMEM.
 */
int esp_model_load(const struct config *c, const char *efivars_dir, const char *sysfs_root,
                   bool probe, struct libmnt_table *t, struct esp_model **ret);

/* Where whole-disk boot entries are resolved: disk_sysfs_seam() when set, else
 * disk_sysfs_root() with the real efivars, else NULL (no resolution: variables from
 * $DUAL_ROOT_EFIVARS need not describe this machine's hardware). */
const char *esp_sysfs_root(void);
struct esp_model *esp_model_free(struct esp_model *m);
static inline void esp_model_freep(struct esp_model **m)
{
        esp_model_free(*m);
}
#define _cleanup_esp_model_ _cleanup_(esp_model_freep)

/*
 * DESIGN.md §3 D3: the partition under an ESP mount point is an ESP. where: how to name it in a
 * message ("'/efi1/'"); refusal: what is then not done ("not syncing an ESP onto it"). Where
 * its partition table can be read, its type must be the EFI System Partition's (GPT, or MBR
 * 0xef) and its filesystem vfat: returns 1 when so, -EMEDIUMTYPE with *why when not. Returns 0
 * when the type cannot be read (a loop device, no permission): the caller's tree rule decides.
 * -ENOMEM.
 */
int esp_check_identity(const struct esp *e, const char *where, const char *refusal, char **why);

/* True when dir_fd's root holds a directory named EFI in any case, as FAT matches names. */
bool esp_tree_has_efi_dir(int dir_fd);

/*
 * D3 for the booted ESP as a sync's source (its tree open as dir_fd, at path where): the
 * identity above, and where the partition type cannot be read, an ESP-like tree: an EFI
 * directory at its root. A data partition the loader named and that is mounted on an ESP mount
 * point is never mirrored from. Returns 0, -EMEDIUMTYPE with *why, -ENOMEM.
 */
int esp_check_source(const struct esp *booted, int dir_fd, const char *where, char **why);
/* Whether the block device node (devnum) is an md array, or carries an md member superblock
 * (libblkid: TYPE linux_raid_member, e.g. metadata 1.0 at the end of a FAT ESP). Returns 1 with
 * *ret_array the array's kernel name when assembled ("md127", else NULL), 0 when neither,
 * -errno. */
int esp_md_of(const char *node, dev_t devnum, char **ret_array);

/* True when name is "efi" followed by one or more digits (and nothing else). */
bool esp_name_is_default(const char *name);
