/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * sync-daemon.conf (DESIGN.md §7): the TOML subset of toml.h parsed into struct config.
 * Each key is one row of the keys[] table in config.c (its field below, parser, default,
 * printer): adding a key is a field here and a row there.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "util/macro.h"
#include "util/time-util.h"

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/dual-root/sync-daemon.conf"

/* fix_boot_entries: a missing firmware entry is warned about, or recreated at boot and after
 * package transactions. */
enum {
        FIX_BOOT_ENTRIES_WARN = 0,
        FIX_BOOT_ENTRIES_AUTO = 1,
};

struct sync_item {
        char *source;    /* absolute path, rsync notation (a trailing '/' means "contents") */
        char **dests;    /* one or more absolute paths */
        char **excludes; /* rsync --exclude patterns, may be empty */
        unsigned line;   /* where the item starts in the file, for messages */
};

struct config {
        char *path; /* file the values came from; NULL when all are defaults */

        bool dualroot;        /* approach 1: mirror the booted ESP to every alternate */
        char **rsync_opts;    /* rsync_opts split on blanks; default { "-axHAXt" } */
        int nice;             /* -20..19, default 15 */
        int ionice_class;     /* 0 none, 1 realtime, 2 best-effort, 3 idle; default 3 */
        int ionice_level;     /* 0..7, default 7; alias ionice_value */
        usec_t sync_delay;    /* minimum time between starts of one item's syncs; 300 s */
        usec_t settle_time;   /* quiet time before a dirty item syncs; 5 s */
        usec_t max_wait;      /* longest a dirty item waits for quiet; 120 s */
        char *rsync_path;     /* absolute path of rsync; default "/usr/bin/rsync" */
        usec_t rsync_timeout; /* one rsync run's limit; 3600 s; 0 = none */
        usec_t lock_timeout;  /* how long to wait for another sync of a destination; 300 s */
        char **esp_mounts;    /* explicit ESP mount points, normalized (no doubled or
                               * trailing '/'); NULL = every /efi<N> mount */
        char **esp_excludes;  /* per-ESP files never copied; default { "/loader/random-seed" } */
        int esp_min_free;     /* MiB an ESP should keep free (--status); 0 = twice its largest
                               * kernel set */
        usec_t prove_max_age; /* --status warns when a disk's last successful drill is older
                               * (DESIGN.md §13 P5); 90 days; 0 = never */
        int fix_boot_entries; /* FIX_BOOT_ENTRIES_WARN or _AUTO (DESIGN.md §13 P4) */
        char **swap_ids;      /* files ("/etc/fstab") and directories ("/boot/loader/entries/",
                               * a trailing '/') copied with identifiers swapped (swapids.h);
                               * no doubled '/'; NULL = none */
        char **boot_trees;    /* DESIGN.md §5c T2: the sync sources copied as boot trees,
                               * normalized; NULL = "auto" (each tree judged by what it holds
                               * and its partition type), empty = none */
        char *alt_root;       /* --add-disk's approach-2 twin root mount; "/mnt/root1" */

        struct sync_item *items;
        size_t n_items;
};

/* A config with every default and no sync items. NULL on ENOMEM. */
struct config *config_new_default(void);

/*
 * Loads path. If the file does not exist: with must_exist false (the default path) the
 * defaults are returned; with must_exist true it is an error. On failure returns -errno and
 * *why says "PATH:LINE:COL: what was wrong, what was expected" (or "PATH: cause" for errors
 * without a position). *ret is written only on success.
 *
 * The file must be owned by root or by the calling user and not writable by group or others
 * (it names the program that is run as root): otherwise -EPERM.
 */
int config_load(const char *path, bool must_exist, struct config **ret, char **why);

/* True when rsync_path and rsync_opts are the defaults: nothing in the file asks rsync to copy
 * an ESP or a boot tree its way (DESIGN.md §5 "Why in-process"). */
bool config_rsync_is_default(const struct config *c);

/*
 * What -b needs from a config that config_load() refused (DESIGN.md §4 B2): a config with
 * every default but esp_mounts, which is read from the file when it is there once and valid
 * (*ret_esp_mounts true); unknown keys, other keys' bad values and a syntax error after it
 * do not matter. A file config_load() refuses as a file (C3) is not read: all defaults.
 * Returns 0, or -ENOMEM.
 */
int config_salvage_bind(const char *path, bool must_exist, struct config **ret,
                        bool *ret_esp_mounts);

/* The parse of config_salvage_bind() on text already read (for tests and the fuzzer). */
int config_parse_for_bind(const char *path, const char *text, size_t size, struct config **ret,
                          bool *ret_esp_mounts);

/*
 * Parses size bytes of text (which may hold NUL bytes: they are refused) as if read from path,
 * which is used in messages and stored in the result. No file checks: config_load does those.
 * Same return and *why convention as config_load. For tests, fuzzing and callers that already
 * hold the text.
 */
int config_parse(const char *path, const char *text, size_t size, struct config **ret, char **why);

/* Prints every value as --check-config shows it: "key:" and the value, one per line. */
void config_print(const struct config *c, FILE *f);

/* Every value as a JSON object, one member per key (aliases left out): booleans, numbers
 * (durations in seconds), strings, arrays; null where unset. No newline. */
void config_print_json_values(const struct config *c, FILE *f);

/* The name of the i-th key (aliases left out), in the order config_print() shows them;
 * NULL past the last. */
const char *config_key_name(size_t i);

struct config *config_free(struct config *c);
static inline void config_freep(struct config **c)
{
        config_free(*c);
}
#define _cleanup_config_free_ _cleanup_(config_freep)
