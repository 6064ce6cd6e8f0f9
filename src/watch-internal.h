/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Inside watch.c: the state its two back ends share. watch.c keeps the items and answers the
 * API of watch.h; watch-inotify.c watches trees directory by directory, watch-fanotify.c
 * whole filesystems with one mark. Nothing outside these three files includes this.
 */

#include <sys/stat.h>
#include <sys/statfs.h>
#include <fcntl.h>

#include "watch.h"

/* struct file_handle with room for any handle (MAX_HANDLE_SZ is 128 in the kernel). */
#define HANDLE_BUF (sizeof(struct file_handle) + 128)
/* Directories whose path a fanotify event needed, remembered for the next events. */
#define PATH_CACHE 32

/* One watched directory of one item. The kernel gives one wd per inode, so two items whose
 * trees share directories (bind mounts) share wds: entries are kept sorted by wd and a wd
 * may appear once per item. */
struct entry {
        int wd;
        int parent_wd; /* 0 for the item's root */
        unsigned item;
        char *name; /* the root's full path, else the directory's name */
};

struct item {
        unsigned id;
        char *root;   /* source without trailing slashes */
        char *prefix; /* exclusions are relative to: "" (contents) or the root's name */
        char **excludes;
        int root_wd;  /* -1 once the root is gone (inotify) */
        size_t count; /* directories watched (inotify) */
        bool fan;     /* a fanotify filesystem mark instead */
        fsid_t fsid;
        unsigned char root_handle[HANDLE_BUF];
};

struct cached_dir {
        unsigned item;
        size_t len;
        unsigned char handle[HANDLE_BUF];
        char *rel;
};

struct watcher {
        int fd;     /* inotify */
        int fan_fd; /* fanotify group reporting directory handles and names, or -1 */
        struct entry *e;
        size_t n, alloc;
        struct item *items;
        size_t n_items;
        struct cached_dir cache[PATH_CACHE];
        size_t cache_next;
        char **warnings; /* what watcher_process() noticed, for watcher_take_warnings() */
};

struct item *watch_find_item(const struct watcher *w, unsigned id);
/* One read of a non-blocking event queue: bytes read, 0 once it is empty, or -errno. */
ssize_t watch_read_queue(int fd, void *buf, size_t size);

/* inotify (watch-inotify.c): every directory of the tree, one watch each. */
int watch_ino_open(void);
void watch_ino_done(struct watcher *w);
int watch_ino_add(struct watcher *w, struct item *it, char **why);
/* Drops every inotify entry of item id, releasing kernel watches nobody else uses. */
void watch_ino_remove(struct watcher *w, unsigned id);
int watch_ino_process(struct watcher *w, watcher_event_cb cb, void *userdata);

/* fanotify (watch-fanotify.c): one filesystem mark per item. */
int watch_fan_open(void);
void watch_fan_done(struct watcher *w);
void watch_fan_cache_clear(struct watcher *w);
int watch_fan_add(struct watcher *w, struct item *it);
void watch_fan_remove(struct watcher *w, struct item *it);
int watch_fan_refresh(struct watcher *w, const struct item *it);
int watch_fan_process(struct watcher *w, watcher_event_cb cb, void *userdata);
