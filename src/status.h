/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The health report (--status): can this machine lose either disk right now (DESIGN.md §11)?
 * Findings with the monitoring plugins' severities (DESIGN.md §2): OK 0, WARNING 1 (it would
 * still boot from every disk, but something is degraded: a fallback path only, a sync pending,
 * little space), CRITICAL 2 (some disk would not boot alone, or the root has no redundancy
 * left), UNKNOWN 3 (could not look: the booted ESP cannot be identified, an ESP cannot be read
 * without root, the config cannot be read). "Could not look" is never reported as broken
 * (DESIGN.md §11 rule S13). The report's level is the worst finding's in the monitoring plugins'
 * order (their max_state_alt): CRITICAL > WARNING > UNKNOWN > OK, so a problem found wins over
 * what could not be looked at, which the report still names.
 *
 * Each ESP of the set gets its own checks, named:
 *   "esp"       mounted read-write at its own mount point, vfat, GPT type ESP, space left;
 *   "firmware"  a Boot#### naming its PARTUUID whose File() it holds, in BootOrder; else the
 *               removable-media fallback;
 *   "loader"    systemd-boot's entries complete on this ESP and its disk's XBOOTLDR (every
 *               file present on the partition holding the entry, root= naming this disk's);
 *   "xbootldr"  the XBOOTLDR partition of this ESP's disk: mounted, in fstab, readable by
 *               the loader (DESIGN.md §11c);
 *   "sync"      (alternates) equal to the booted ESP, when and from where it was last synced;
 *   "root"      whether the root assembles from this ESP's disk alone (btrfs, md);
 *   "drill"     its failover drills (--prove, DESIGN.md §13): last success and failure, a
 *               pending one; where NVRAM writes are refused, the fallback loader.
 * System-wide findings: "boot" (EFI_MOUNT holds the booted ESP), "root" (btrfs devices and
 * profiles, md arrays), "sync-list" (approach 2's destinations), "esp-set" (also an ESP on md
 * RAID, refused).
 */

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <libmount.h>

#include "config.h"
#include "esp.h"

enum status_level {
        STATUS_OK = 0,
        STATUS_WARNING = 1,
        STATUS_CRITICAL = 2,
        STATUS_UNKNOWN = 3,
};

/* The rank of a level in the monitoring plugins' order: OK 0 < UNKNOWN 1 < WARNING 2 <
 * CRITICAL 3. status_level_max() is the worse of two. */
int status_level_rank(enum status_level l);
enum status_level status_level_max(enum status_level a, enum status_level b);

/* Would the machine boot from this ESP's disk alone? */
enum status_verdict {
        VERDICT_YES = 0,
        VERDICT_NO,      /* a CRITICAL finding of its esp/firmware/loader checks */
        VERDICT_UNKNOWN, /* none, but one of those checks could not look (why: unknown_why) */
};
const char *status_verdict_to_string(enum status_verdict v); /* "yes", "NO", "unknown" */

struct status_finding {
        enum status_level level;
        const char *check; /* "esp", "firmware", ... (static) */
        char *text;
        char *source, *destination; /* a sync-list item's finding: its pair, else NULL */
        bool denied;                /* could not look for lack of privileges (EACCES, EPERM) */
};

struct status_esp {
        char *mount;
        char *device;
        char *partuuid;
        char *uuid;
        bool booted;
        bool present;             /* mounted */
        bool partuuid_from_fstab; /* missing: partuuid is what fstab mounts there */
        enum status_verdict verdict;
        char *unknown_why; /* with VERDICT_UNKNOWN: what could not be looked at */
        enum status_level level;
        int64_t last_sync;         /* Unix time of the last sync onto it, -1 when unknown */
        char *last_sync_from;      /* the PARTUUID it was synced from, or NULL */
        int64_t last_proven;       /* its last successful drill (--prove), -1: never (§13) */
        int64_t last_prove_failed; /* its last failed drill, -1: never */
        bool prove_failed;         /* its last drill failed (CRITICAL until one succeeds) */
        /* The XBOOTLDR partition of this ESP's disk (DESIGN.md §11c X1), when one was found. */
        char *disk; /* the ESP's disk ("vda"), NULL when not known */
        bool xbootldr;
        unsigned xbootldr_partno;
        char *xbootldr_device;   /* NULL without a device node */
        char *xbootldr_partuuid; /* NULL when the table names none */
        char *xbootldr_fstype;   /* NULL when unknown */
        char *xbootldr_mount;    /* NULL when not mounted */
        struct status_finding *findings;
        size_t n;
};

/* A sync-list destination's last sync (approach 2), labelled by its pair: stable when the
 * config is reordered. */
struct status_dest {
        char *item; /* "sync[0]", for the text only */
        char *source;
        char *dest;
        int64_t last_sync; /* -1 when unknown */
};

struct status_report {
        enum status_level level;         /* the worst finding's */
        struct status_finding *findings; /* system-wide */
        size_t n;
        struct status_esp *esps; /* the booted ESP first, then the alternates in set order */
        size_t n_esps;
        struct status_dest *dests;
        size_t n_dests;
        size_t n_denied; /* findings that could not look for lack of privileges */
        char *error;     /* the check could not run at all (config, mount table): why */
        int64_t now;
        /* The root (DESIGN.md §11 S6, S10): 1 when it survives the loss of a device, 0 when
         * not, -1 when not judged; its missing devices or md members, -1 when not judged. */
        int root_redundant;
        int root_degraded;
        int64_t prove_max_age; /* seconds (config prove_max_age), 0: never warns; -1: drills
                                * not checked */
};

const char *status_level_to_string(enum status_level l); /* "OK", "WARNING", ... */

/* Examines the model, the ESPs' contents, the EFI variables (efivars_dir), efi_mount (/boot),
 * the root filesystem and the sync list's destinations. Returns 0 or -ENOMEM. */
int status_check(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                 struct libmnt_table *fstab, const char *efivars_dir, const char *efi_mount,
                 struct status_report *ret);

/* A report of a run that could not check at all: UNKNOWN, a finding of check (e.g. "config")
 * saying why, and error set, so that every output (text, JSON, textfile) still tells. Returns 0
 * or -ENOMEM. */
int status_report_failed(const char *check, const char *why, struct status_report *ret);

void status_report_done(struct status_report *r);

/* The md root's findings (DESIGN.md §11 S10, S11) for array under sysfs, added to r (whose ESPs,
 * if any, get their per-disk verdict): what status_check does for a root on md; for tests on
 * sysfs fixtures. Returns 0 or -ENOMEM. */
int status_check_md_root(const char *sysfs, const char *array, struct status_report *r);

/* The first line's summary, without the state and the perfdata ("this machine can lose any
 * disk", or the worst finding). */
const char *status_summary(const struct status_report *r);

/* The monitoring-plugins form: "STATE: summary | perfdata", then one line per ESP and check,
 * then the system-wide findings. */
void status_print_text(FILE *f, const struct status_report *r);
void status_print_json(FILE *f, const struct status_report *r);

/* The Prometheus text exposition (node_exporter's textfile collector, labels as
 * node_exporter's: mountpoint; docs/DESIGN.md §11 lists the series): dualroot_build_info,
 * dualroot_textfile_timestamp_seconds, dualroot_status, dualroot_status_info{status,reason},
 * dualroot_can_lose_any_disk, dualroot_esp_bootable{mountpoint,partuuid},
 * dualroot_esp_check_status{mountpoint,partuuid,check}, dualroot_check_status{check |
 * check,source,destination}, dualroot_last_sync_timestamp_seconds{mountpoint,partuuid |
 * source,destination}, dualroot_root_redundant and dualroot_root_degraded_members (when the
 * root was judged). status_write_textfile writes it to path atomically: a temporary file in
 * the same directory, flushed, then renamed over path. Returns 0 or -errno with *why. */
void status_print_prometheus(FILE *f, const struct status_report *r);
int status_write_textfile(const char *path, const struct status_report *r, char **why);
