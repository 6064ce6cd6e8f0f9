/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The command layer's two halves (DESIGN.md §10): main.c parses the command line into arg and
 * runs the verbs its table names; verbs.c holds each verb_*(), the only code besides the
 * daemon that decides what is printed. Nothing else includes this.
 */

#include <stdbool.h>

#include "config.h"
#include "machine.h"

/* Exit status (DESIGN.md §2). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
};

/* The actions, in the order they run when several are given (-b before -s or -d). */
enum verb_id {
        VERB_CHECK_CONFIG,
        VERB_STATUS,
        VERB_FIX_BOOT_ENTRIES,
        VERB_INFO,
        VERB_BIND,
        VERB_SYNC,
        VERB_SYNCD,
        VERB_ADD_DISK,
        VERB_PROVE,
        VERB_ASSERT_ENTRIES,
        _VERB_MAX,
};

/* The command line, parsed (main.c). */
struct options {
        unsigned verbs; /* 1 << enum verb_id; none given means VERB_INFO */
        bool test;
        bool force;
        bool quiet;
        bool verbose;
        bool json;
        const char *textfile;
        const char *add_disk;
        bool raid1;
        const char *config_path;
        bool config_given;
        const char *efi_mount;
        bool efi_mount_given;
        const char *prove_disk; /* --prove's DISK, the positional argument */
        bool reboot;
};
extern struct options arg;

static inline bool verb_given(enum verb_id v)
{
        return arg.verbs & (1u << v);
}

/* What the verbs work on, loaded once before the first of them runs. */
struct context {
        struct config *config; /* verb_syncd takes it */
        struct machine m;      /* with VERB_NEEDS_MODEL (fstab: VERB_FSTAB) */
        /* A monitoring verb whose context could not be loaded: which part ("config", "mounts",
         * "model") and why; the verb still reports, as UNKNOWN (DESIGN.md §11 rule S14). */
        const char *error_check;
        char *error;
        bool config_error; /* -b runs on what config_salvage_bind() read: exit 2 */
};

void context_done(struct context *c);
void announce_booted(const struct context *c);
void print_check_config_json(const char *path, const struct config *c, char *const *errors);
int verb_status(struct context *cx);
int verb_fix_boot_entries(struct context *cx);
int verb_sync(struct context *cx);
int verb_check_config(struct context *c);
int verb_info(struct context *c);
int verb_bind(struct context *c);
int verb_prove(struct context *c);
int verb_assert_entries(struct context *c);
int verb_syncd(struct context *c);
int verb_add_disk(struct context *cx);
