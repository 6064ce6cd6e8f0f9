/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What systemd-boot would boot from one ESP (DESIGN.md §11): the Boot Loader Specification's
 * type #1 entries (loader/entries/NAME.conf), unified kernel images (EFI/Linux/NAME.efi, type #2)
 * and loader/loader.conf's default pattern. Parsing only: no verdicts here, status.c decides.
 *
 * Boot counting (the BLS "Boot counting" section): a file named "NAME+LEFT[-DONE].conf" (or
 * .efi) is the entry "NAME.conf" with LEFT tries left and DONE tries done; LEFT 0 means the
 * entry failed every try and systemd-boot sorts it last, but still offers it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util/macro.h"

#define BLS_ENTRIES_DIR "loader/entries"
#define BLS_UKI_DIR "EFI/Linux"
#define BLS_LOADER_CONF "loader/loader.conf"
#define BLS_FILE_MAX (64 * 1024) /* an entry or loader.conf larger than this is refused */

struct bls_entry {
        char *filename; /* as in its directory, e.g. "debian-6.1+2-1.conf" */
        char *id;       /* the boot counter stripped: "debian-6.1.conf" */
        bool uki;       /* a unified kernel image in EFI/Linux (no keys below) */
        int tries_left; /* -1 when the name has no boot counter */
        int tries_done; /* -1 when not given */
        uint64_t size;  /* the entry file's size (a UKI: the image's) */
        char *error;    /* set when the entry could not be read or parsed; keys then unset */

        char *title;
        char *version;
        char *machine_id;
        char *sort_key;
        char *architecture;
        char *linux_path; /* "linux" */
        char *efi;
        char *devicetree;
        char **initrd;             /* every "initrd" line, each may name several files */
        char **devicetree_overlay; /* every file of every "devicetree-overlay" line */
        char **options;
};

/* Splits a file name into its entry ID and boot counter. suffix: ".conf" or ".efi". Returns 0
 * (counter fields -1 when there is none), -EINVAL when name does not end in suffix or has
 * nothing before it, -ENOMEM. A "+" part that is not a valid counter is part of the ID. */
int bls_parse_counter(const char *name, const char *suffix, char **ret_id, int *ret_left,
                      int *ret_done);

/* Parses one type #1 entry's text (size bytes, may hold NULs: refused). filename is the name
 * it has in loader/entries. Unknown keys are ignored (the specification says so); a line with
 * a key and no value, NUL bytes, or a repeated single-valued key is an error (-EBADMSG with
 * *why naming the line). *ret is written on success only. */
int bls_entry_parse(const char *filename, const char *text, size_t size, struct bls_entry *ret,
                    char **why);
void bls_entry_done(struct bls_entry *e);

/* Every file the entry names (linux, efi, each initrd, devicetree, each overlay), in that
 * order, as written in the entry. Returns 0 or -ENOMEM. */
int bls_entry_files(const struct bls_entry *e, char ***ret);

/* The systemd-boot pattern special values that name no entry. */
bool bls_pattern_is_special(const char *pattern);
/* Whether a loader.conf "default" glob selects the entry (matched on its ID, with and
 * without the suffix, as systemd-boot does). */
bool bls_pattern_matches(const char *pattern, const struct bls_entry *e);

struct bls_set {
        bool have_loader_conf;
        char *default_pattern; /* loader.conf "default", NULL when absent */
        unsigned default_line;
        char *loader_conf_error;   /* loader.conf unreadable, NULL when fine or absent */
        struct bls_entry *entries; /* type #1 (sorted by file name), then UKIs (likewise) */
        size_t n;
};

/* Reads loader/loader.conf, loader/entries/ *.conf and EFI/Linux/ *.efi under esp_fd (names
 * matched case-insensitively, as FAT does). An entry that cannot be read or parsed is kept with
 * its error set; a missing directory is no entry. Returns 0, or -errno with *why when a
 * directory that exists cannot be listed. */
int bls_load(int esp_fd, struct bls_set *ret, char **why);
void bls_set_done(struct bls_set *s);

/* stat() of a file given by its path on the ESP, '/' or '\' separated, leading separator
 * optional (as entries and EFI device paths write it), resolved below root_fd only: ".." and
 * symlinks are refused (-ELOOP), and each component is matched case-insensitively when the exact
 * name is absent, as the firmware's FAT driver does. Returns 0, -ENOENT, or -errno. */
int bls_path_stat(int root_fd, const char *path, struct stat *ret);
/* The same resolution, opening the file with flags (O_RDONLY, O_PATH; O_NOFOLLOW and
 * O_CLOEXEC are added). Returns the fd, or -errno as bls_path_stat(). */
int bls_path_open(int root_fd, const char *path, int flags);
