/* SPDX-License-Identifier: MIT */
#pragma once

/* Bind-mounting the booted ESP onto /boot (DESIGN.md §4). */

#include <libmount.h>

#include "esp.h"

struct config;

enum bind_result {
        BIND_MOUNTED, /* the bind mount was made and verified */
        BIND_ALREADY, /* the target already holds the booted ESP's filesystem */
        BIND_TEST,    /* test mode: would mount, changed nothing */
};

struct bind_plan {
        char *source;    /* the booted ESP's mount point, e.g. "/efi0" */
        char *target;    /* e.g. "/boot", trailing slashes stripped */
        char **shadowed; /* names in target that the bind mount will hide, if the
                            target is not a mount point (a stale /boot) */
};

void bind_plan_done(struct bind_plan *p);

/*
 * Decides what binding m's booted ESP onto target means. Fails (with *why naming both
 * sides) when the booted ESP is unknown or not mounted on an ESP mount point, when target
 * is not a directory, or when target already holds another filesystem (-EBUSY) or only a
 * part of the ESP. Returns BIND_ALREADY when nothing needs doing, else BIND_MOUNTED with
 * *ret filled; nothing is changed.
 */
int bind_prepare(const struct esp_model *m, struct libmnt_table *t, const char *target,
                 struct bind_plan *ret, char **why);

/* Performs the plan: mount(2) MS_BIND, then re-reads mountinfo (NULL = the process's) to
 * verify the target now holds devnum. Returns 0 or -errno with *why. */
int bind_execute(const struct bind_plan *p, dev_t devnum, const char *mountinfo, char **why);

/*
 * B4 (DESIGN.md §4): whether binding the ESP onto target would hide a tree the sync list
 * copies: an item whose source (resolved) is target or inside it, with a destination that is
 * no ESP mount point of esp_set (the model's: esp_mounts, else every /efi<N>), nor inside
 * one: approach 2's /boot item (a root's /boot directory or its XBOOTLDR, copied to the
 * twin's). An item copying target to an ESP (approach 1's "/boot/" -> "/efi1/") is not
 * counted. Returns 0 (nothing hidden; also with
 * no config), -EBUSY with *why naming the item, what to do, and whether the ESP is already
 * there (already_bound), or -ENOMEM.
 */
int bind_check_sync_items(const struct config *c, char *const *esp_set, const char *target,
                          bool already_bound, char **why);
