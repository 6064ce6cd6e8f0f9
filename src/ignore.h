/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What an ESP sync leaves alone, on both sides (DESIGN.md §5): the one list that rsync's
 * argv, the rollback guard's fingerprint, the emptiness check, the watcher and status use.
 * Each ESP keeps its own lost+found (fsck's), its own guard record (it describes that ESP)
 * and its drill record (drill.h: every ESP holds it, written to all at once), and, through
 * the config's esp_excludes (default "/loader/random-seed"), its own seed.
 */

#include <stdbool.h>

#include "drill.h" /* DRILL_STATE_FILE, DRILL_STATE_TMP */
#include "guard.h" /* GUARD_STATE_FILE, GUARD_STATE_TMP */

/* What rsync never copies (rsync.h adds it to every run) nor the watcher watches. */
#define IGNORED_LOST_FOUND "/lost+found/"

/* Names at an ESP's root that are never copied, deleted or fingerprinted. */
#define ESP_IGNORED_ROOT_NAMES                                                                     \
        "lost+found", GUARD_STATE_FILE, GUARD_STATE_TMP, DRILL_STATE_FILE, DRILL_STATE_TMP

/* True when name, an entry at the root of an ESP, is one of ESP_IGNORED_ROOT_NAMES. */
bool esp_ignored_root_name(const char *name);

/* The exclusion patterns of an ESP sync: config_excludes (the config's esp_excludes), then
 * each of ESP_IGNORED_ROOT_NAMES anchored at the root ("/lost+found/" last: rsync's argv
 * always carries it). */
int esp_ignore_excludes(char *const *config_excludes, char ***ret);
