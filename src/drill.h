/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The failover drill (--prove, DESIGN.md §13): the one-shot BootNext set to another disk's
 * Boot####, the pending drill recorded on every ESP, and at the next boot (-b) the drill judged
 * from what the firmware really started: proven, or failed (the firmware fell back elsewhere).
 *
 * The record is DRILL_STATE_FILE at the root of every mounted ESP, all with the same content
 * (never synced: ignore.h), so whichever disk comes up finds it. Its format, one fact a line,
 * fields separated by one space, every line ending in '\n':
 *
 *   # comment lines (only before "dual-root-drill")
 *   dual-root-drill 1
 *   generation N                                 (each save writes the highest seen + 1)
 *   pending TARGET ENTRY SINCE FROM BOOT_ID      (at most one)
 *   disk PARTUUID PROVEN FAILED FAILED_ON        (at most one per PARTUUID)
 *   nvram-refused SINCE                          (at most one: a write was refused)
 *   stale-boot-next ENTRY                        (at most one: BootNext of ours that could not
 *                                                 be deleted after the drill's boot)
 *
 * PARTUUIDs, FROM, FAILED_ON and BOOT_ID are lower-case GUIDs ("-" for FAILED_ON: none);
 * ENTRY is the Boot#### number, 4 hex digits; SINCE, PROVEN and FAILED are seconds since the
 * epoch ("-": never). Anything else is refused with the line and what was expected.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "efivars.h"

#define DRILL_STATE_FILE ".dual-root-drill"
#define DRILL_STATE_TMP ".dual-root-drill.new"
#define DRILL_STATE_MAX (64 * 1024)
#define DRILL_DISKS_MAX 64

struct drill_disk {
        char partuuid[GUID_STRING_MAX];
        int64_t proven;                  /* last successful drill, -1: never */
        int64_t failed;                  /* last failed drill, -1: never */
        char failed_on[GUID_STRING_MAX]; /* what came up instead, "" when unknown */
};

struct drill_pending {
        bool set;
        char target[GUID_STRING_MAX]; /* the disk's ESP PARTUUID BootNext should start */
        unsigned entry;               /* the Boot#### written to BootNext */
        int64_t since;
        char from[GUID_STRING_MAX];    /* the booted ESP when it was set */
        char boot_id[GUID_STRING_MAX]; /* the kernel's boot_id when it was set */
};

struct drill_state {
        uint64_t generation;
        int64_t nvram_refused; /* when the NVRAM last refused a write of ours, -1: never (or a
                                * write succeeded since) */
        struct drill_pending pending;
        /* BootNext left pointing at the entry of a judged drill because deleting it failed:
         * still ours (P3), deleted at the next -b and overwritten by the next --prove, never
         * called someone else's. */
        bool stale_set;
        unsigned stale_entry;
        struct drill_disk *disks;
        size_t n_disks;
};

void drill_state_done(struct drill_state *s);

/* Strict parser of the format above. Returns 0 or -EBADMSG with *why "line N: what, expected
 * what" (-ENOMEM). *ret is written only on success. */
int drill_state_parse(const char *text, size_t size, struct drill_state *ret, char **why);

/* The file's text. Returns 0 or -ENOMEM. */
int drill_state_format(const struct drill_state *s, char **ret);

/* Folds other into s: per disk the later of each time; the pending drill and the generation of
 * the record written last (the higher generation). Returns 0 or -ENOMEM / -E2BIG (too many
 * disks). */
int drill_state_merge(struct drill_state *s, const struct drill_state *other);

/* The disk's record; with create, a new one (never drilled) when there is none. NULL when there
 * is none (or -ENOMEM / too many disks with create: errno set). */
struct drill_disk *drill_state_disk(struct drill_state *s, const char *partuuid, bool create);
const struct drill_disk *drill_state_disk_const(const struct drill_state *s, const char *partuuid);

/* Reads DRILL_STATE_FILE from each directory (an ESP root) and merges them. A directory without
 * the file adds nothing; a malformed or unreadable file is an error naming it (-EBADMSG, -errno):
 * never silently taken for "no drill". *ret_found: how many files were read. */
int drill_state_load(char *const *esp_dirs, struct drill_state *ret, size_t *ret_found, char **why);

/* Writes s (generation incremented) to each directory atomically (temporary file, fsync,
 * rename, directory fsync). Returns the number written, or -errno with *why naming the first
 * ESP that could not be written (after trying every one). */
int drill_state_save(char *const *esp_dirs, struct drill_state *s, char **why);

/* What the firmware and the kernel say about this boot. */
struct drill_facts {
        const char *booted; /* the booted ESP's PARTUUID (§3), NULL when unknown */
        int boot_current;   /* BootCurrent, -1 when unknown */
        int boot_next;      /* BootNext, -1 when not set */
        const char *boot_id;
        int64_t now;
};

enum drill_outcome {
        DRILL_NONE,    /* no pending drill */
        DRILL_WAITING, /* pending, and this is still the boot that set it */
        DRILL_UNKNOWN, /* pending, but the booted ESP is unknown: kept, nothing recorded */
        DRILL_PROVEN,  /* the drill's boot came up on its target */
        DRILL_FAILED,  /* the drill's boot came up elsewhere */
};

const char *drill_outcome_to_string(enum drill_outcome o);

/* At boot: judges a pending drill against f and records the outcome in s (the target's
 * proven or failed time, the pending drill dropped). *ret_delete_boot_next: BootNext is still
 * set to the drill's entry after the drill's boot, or to the stale entry of s, and must be
 * deleted (DESIGN.md §13 P3); a stale entry no longer in BootNext is forgotten. The caller
 * sets the stale entry when that deletion fails. Returns the outcome. */
enum drill_outcome drill_resolve(struct drill_state *s, const struct drill_facts *f,
                                 bool *ret_delete_boot_next);

/* --prove: records a drill of target through Boot#### entry, or refuses: -EALREADY when
 * this very drill is already pending (BootNext is ours), -EBUSY when BootNext is set by
 * someone else (a stale entry of s is ours: overwritten, the caller clears it), -EINVAL when target
 * is the booted ESP or unknown facts; *why says which. */
int drill_plan(struct drill_state *s, const struct drill_facts *f, const char *target,
               unsigned entry, char **why);

/* Levels of the monitoring convention (status.h's enum status_level values). */
enum { DRILL_OK = 0, DRILL_WARNING = 1, DRILL_CRITICAL = 2 };

/* The judgement of one disk's drills (DESIGN.md §13 P5): CRITICAL while its last drill failed
 * (failed later than proven), WARNING when max_age_sec > 0 and the last success is older, OK
 * otherwise (also never drilled: the first drill starts the clock). *ret_text says why.
 * Returns the level or -ENOMEM. */
int drill_judge(const struct drill_disk *d, int64_t now, uint64_t max_age_sec, char **ret_text);

/* The kernel's boot_id (/proc/sys/kernel/random/boot_id), lower case. Returns 0 or -errno. */
int drill_read_boot_id(char ret[GUID_STRING_MAX]);

/* ---- the drill on this machine (the ESP model, NVRAM, the ESP records) ---- */

struct esp_model;
struct config;
struct esp;

/* Every mounted ESP of the model: where the record is read and written. Returns 0 or -ENOMEM. */
int drill_esp_dirs(const struct esp_model *m, char ***ret);

/* The ESP disk names: its mount point, PARTUUID (any case) or device node (a path whose device
 * number is the ESP's). NULL: the alternate (the mounted one not booted; with several, the one
 * whose last successful drill is oldest). Returns the ESP or NULL with errno and *why. */
const struct esp *drill_find_target(const struct esp_model *m, const struct drill_state *s,
                                    const char *disk, char **why);

/*
 * --prove (DESIGN.md §13 P1, P2): BootNext set to the target's valid Boot####, then the pending
 * drill recorded on every mounted ESP (BootNext deleted again if that fails). With test, writes
 * nothing and prints exactly what it would. out gets one line per action. Returns 0 when set (or
 * would be), 1 when this drill was already pending, or -errno with *why: -EBUSY BootNext set by
 * someone else, -ENOENT no valid entry for the target, *ret_refused set when the NVRAM refused
 * the write (write-protected). boot_id: this boot's, NULL: the kernel's (drill_read_boot_id();
 * the unit tests give one, as a next boot would have).
 */
int drill_prove(const struct esp_model *m, const char *disk, const char *boot_id, bool test,
                FILE *out, bool *ret_refused, char **why);

/*
 * At boot (-b, DESIGN.md §13 P3, P4): a pending drill judged and recorded, BootNext deleted if
 * it is still the drill's; then each mounted ESP's firmware entry checked, and with
 * fix_boot_entries = "auto" a missing one recreated (bootentry_fix()). out gets what was done;
 * problems that do not stop the boot go to *warnings, one sentence each. Returns the drill's
 * outcome or -errno with *why.
 */
int drill_at_boot(const struct config *c, const struct esp_model *m, const char *boot_id, bool test,
                  FILE *out, char ***warnings, char **why);

/* The entries step of drill_at_boot() alone (after package transactions, hooks/). Returns the
 * number of ESPs without a valid entry left, or -errno with *why. */
int drill_assert_entries(const struct config *c, const struct esp_model *m, bool test, FILE *out,
                         char ***warnings, char **why);

/* Whether the ESP (root esp_fd)'s removable-media fallback starts the real loader (DESIGN.md §13
 * P6): 1 it is systemd-boot's binary byte for byte, 0 another loader and no shim fallback beside
 * it, -EMEDIUMTYPE shim's fallback (EFI_SHIM_FALLBACK_PATH) is there, -ENOENT no fallback,
 * else -errno. */
int drill_fallback_is_loader(int esp_fd);
