/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Change notification for the daemon (DESIGN.md §6). A source that is the root of a filesystem
 * (every ESP, and trees mounted on their own) gets one fanotify filesystem mark
 * (FAN_MARK_FILESYSTEM, FAN_REPORT_DFID_NAME): set up in O(1) however many directories it
 * has. Any other source, or where fanotify cannot be used (kernel < 5.9, a filesystem
 * without file handles, no CAP_SYS_ADMIN), is watched recursively with inotify, one watch
 * per directory, new directories watched as they appear. One instance of each serves all
 * items; events are reported by item id.
 *
 * Directories are watched without crossing into other filesystems (rsync -x, the default,
 * does not cross either) and without descending into excluded directories. Events on
 * excluded paths (the ESP's random seed, the rollback guard's state file the daemon writes
 * itself) are ignored, so they never make an item dirty.
 */

#include <stdbool.h>
#include <stddef.h>

#define WATCH_ALL_ITEMS ((unsigned)-1)

struct watcher;

int watcher_new(struct watcher **ret);
struct watcher *watcher_free(struct watcher *w);

/* The fds to poll for POLLIN: inotify's, and fanotify's (-1 when unavailable). */
int watcher_fd(const struct watcher *w);
int watcher_fanotify_fd(const struct watcher *w);

/*
 * Watches the tree at source (as rsync names it: a trailing '/' means its contents, so
 * exclusion patterns are relative to source itself; otherwise to its parent) for item id.
 * whole_fs: source is the root of its filesystem (the caller knows from the mount table),
 * so a fanotify filesystem mark covers exactly it. Returns the number of directories
 * watched with inotify (0 with fanotify), or -errno with *why (e.g. ENOSPC: the
 * fs.inotify.max_user_watches limit). On failure nothing stays watched for id.
 * With inotify it moves through the tree's directories (fchdir) and returns to the working
 * directory it was called in: 100,000 directories take about 0.3 s.
 */
int watcher_add(struct watcher *w, unsigned id, const char *source, char *const *excludes,
                bool whole_fs, char **why);

/* "fanotify", "inotify", or "none" for item id. */
const char *watcher_backend(const struct watcher *w, unsigned id);

/* Stops watching item id. */
void watcher_remove(struct watcher *w, unsigned id);

/* True while item id's root directory is watched (with inotify: false once its
 * filesystem was unmounted or the directory removed). */
bool watcher_active(const struct watcher *w, unsigned id);

/* Places item id's fanotify filesystem mark again (a no-op while it is there): a filesystem
 * unmounted and mounted again from the same device between two looks at the mount table
 * has a new superblock, which the old mark did not survive on. The caller must know that
 * the item's root is still the root of that same device. 0 or -errno. */
int watcher_refresh(struct watcher *w, unsigned id);

/* Number of directories watched for item id. */
size_t watcher_count(const struct watcher *w, unsigned id);

typedef void (*watcher_event_cb)(unsigned id, void *userdata);

/* Reads what is pending and calls cb once per relevant event: with the item's id, or with
 * WATCH_ALL_ITEMS when the kernel's queue overflowed (events were lost). Returns 0 or
 * -errno. */
int watcher_process(struct watcher *w, watcher_event_cb cb, void *userdata);

/* What watcher_process() could not do and went on without (a directory it could not watch),
 * one sentence each, for the caller to say; NULL when nothing. The caller frees it. */
char **watcher_take_warnings(struct watcher *w);
