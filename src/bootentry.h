/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The firmware's view of each ESP (DESIGN.md §11): the NVRAM boot options (Boot####,
 * BootOrder), which of them would start which ESP, the removable-media fallback, and the repair
 * that gives every ESP an entry of its own (--fix-boot-entries).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct esp_model;

/* Per architecture (UEFI 2.10 §3.5.1.1): the removable-media fallback, systemd-boot's binary,
 * shim's fallback (which recreates boot entries from BOOT*.CSV and reboots). */
#if defined(__x86_64__)
#define EFI_ARCH "x64"
#define EFI_ARCH_UPPER "X64"
#elif defined(__i386__)
#define EFI_ARCH "ia32"
#define EFI_ARCH_UPPER "IA32"
#elif defined(__aarch64__)
#define EFI_ARCH "aa64"
#define EFI_ARCH_UPPER "AA64"
#elif defined(__arm__)
#define EFI_ARCH "arm"
#define EFI_ARCH_UPPER "ARM"
#elif defined(__riscv) && __riscv_xlen == 64
#define EFI_ARCH "riscv64"
#define EFI_ARCH_UPPER "RISCV64"
#elif defined(__loongarch64)
#define EFI_ARCH "loongarch64"
#define EFI_ARCH_UPPER "LOONGARCH64"
#else
#error "unknown EFI architecture"
#endif
#define EFI_FALLBACK_PATH "\\EFI\\BOOT\\BOOT" EFI_ARCH_UPPER ".EFI"
#define EFI_SDBOOT_PATH "\\EFI\\systemd\\systemd-boot" EFI_ARCH ".efi"
#define EFI_SHIM_FALLBACK_PATH "\\EFI\\BOOT\\fb" EFI_ARCH ".efi"

/* Entries we create carry this description prefix; only those may ever be rewritten. */
#define BOOTENTRY_LABEL_PREFIX "dual-root-tool "

struct boot_option {
        unsigned number; /* the #### */
        uint32_t attributes;
        char *description; /* NULL when unparsable */
        char *partuuid;    /* lower case; NULL when the path names no GPT partition */
        char *file;        /* "\EFI\...", NULL when the path has no File() */
        char *path_text;   /* the device path as text, NULL when unparsable */
        char *error;       /* why it could not be parsed, or NULL */
        uint8_t *optional; /* OptionalData (a kernel's command line, §11b L11), or NULL */
        size_t optional_size;
        int order; /* index in BootOrder, -1 when not listed */
};

struct boot_nvram {
        struct boot_option *options; /* sorted by number */
        size_t n;
        uint16_t *order;
        size_t n_order;
        bool have_order;
        char *order_error; /* BootOrder present but malformed */
};

/* Reads every Boot#### of the EFI global GUID and BootOrder from efivars_dir. Returns 0, or
 * -errno with *why when the directory cannot be listed (-ENOENT: no EFI variables at all). */
int bootentry_read_nvram(const char *efivars_dir, struct boot_nvram *ret, char **why);
void boot_nvram_done(struct boot_nvram *nv);

/* How the firmware can reach one ESP. */
enum bootentry_reach {
        REACH_ENTRY = 0,     /* a valid entry, in BootOrder */
        REACH_NOT_IN_ORDER,  /* a valid entry, but BootOrder does not list it */
        REACH_FALLBACK_ONLY, /* only the removable-media fallback file */
        REACH_NONE,
};

struct bootentry_eval {
        enum bootentry_reach reach;
        const struct boot_option *entry; /* the best valid entry, or NULL */
        char **broken;                   /* "Boot0004 \"x\": \EFI\y.efi is not on this ESP", ... */
        bool fallback;                   /* EFI_FALLBACK_PATH exists on the ESP */
        bool shim_fallback;              /* EFI_SHIM_FALLBACK_PATH exists on the ESP */
        const char *loader;              /* what a new entry would start: EFI_SDBOOT_PATH,
                                          * else a distributor's shim, GRUB or rEFInd, else
                                          * EFI_FALLBACK_PATH when present, else NULL */
        char *sdboot_problem;            /* EFI_SDBOOT_PATH is there but no usable EFI program
                                          * (DESIGN.md §11 S8): why; else NULL */
        char *fallback_problem;          /* likewise EFI_FALLBACK_PATH */
        char *loader_buf;                /* (the distributor's path, owned) */
};

/* Evaluates the ESP with PARTUUID partuuid whose root is esp_fd: an entry is valid when it is
 * active, its device path names this PARTUUID (short or full form) and its File() exists on the
 * ESP and is a plausible EFI program for this machine (loaderfile.h); the fallback and
 * systemd-boot's binary count only when plausible too. Returns 0 or -ENOMEM. */
int bootentry_evaluate(const struct boot_nvram *nv, const char *partuuid, int esp_fd,
                       struct bootentry_eval *ret);
void bootentry_eval_done(struct bootentry_eval *e);

/*
 * What the firmware's start file leads to (DESIGN.md §11b L8): the loader it is, or shim's
 * second stage beside it, or, for the removable-media fallback with shim's fb<arch>.efi beside
 * it, the loader named by the first \EFI\<vendor>\BOOT<ARCH>.CSV (shimcsv.h).
 */
enum boot_start_kind {
        START_UNKNOWN = 0, /* not a loader judged by its chain: systemd-boot, a UKI, ... */
        START_GRUB,
        START_REFIND,
};

struct boot_start {
        enum boot_start_kind kind;
        char *config;   /* its configuration on the ESP ("EFI/debian/grub.cfg"), or NULL */
        char *shim;     /* the shim it starts through (an ESP path), NULL when none */
        char **links;   /* how the firmware gets there, one text per link (--status -v) */
        char *critical; /* the first link this ESP cannot satisfy, or NULL */
        char *unknown;  /* a link that could not be looked at, or NULL */
};

/* Follows file (a File() path, "\EFI\debian\shimx64.efi") on the ESP esp_fd called name.
 * Returns 0 with *ret, or -ENOMEM. */
int bootentry_start(int esp_fd, const char *name, const char *file, struct boot_start *ret);
void boot_start_done(struct boot_start *s);

/* Where a partition is: its number in the partition table, first sector and length in logical
 * blocks, and the disk's kernel name ("vdb"), from sysfs_root/dev/block/MAJ:MIN. */
struct bootentry_partition {
        uint32_t number;
        uint64_t start, size;
        char *disk;
};
int bootentry_partition_of(const char *sysfs_root, dev_t devnum, struct bootentry_partition *ret,
                           char **why);

/*
 * --fix-boot-entries (DESIGN.md §11 rules E1-E5): for each mounted ESP of the model (only the
 * one mounted on only_mount when not NULL) without a valid entry, creates a Boot#### at the
 * lowest free number (or rewrites an invalid one of ours), labelled BOOTENTRY_LABEL_PREFIX plus
 * its mount and disk, starting systemd-boot's binary or else the fallback path, and appends it
 * to BootOrder; a valid entry missing from BootOrder is appended. With test, writes nothing.
 * out gets one line per planned or done action. Returns the number of entries created (or that
 * would be), or -errno with *why naming the ESP that could not be fixed (after the others were).
 */
int bootentry_fix(const struct esp_model *m, const char *only_mount, bool test, FILE *out,
                  char **why);
