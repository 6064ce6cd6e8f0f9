/* SPDX-License-Identifier: MIT */
/*
 * The inotify back end of watch.h: one watch per directory of the tree, new directories
 * watched as they appear, without crossing into other filesystems or excluded directories.
 */
#include <dirent.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "util/errmsg.h"
#include "util/exclude.h"
#include "util/macro.h"
#include "util/strv.h"
#include "watch-internal.h"

/* What makes a tree "not quiet": IN_MODIFY too, so a kernel still being written keeps its
 * item from syncing half-way (DESIGN.md §6's settle time). */
#define WATCH_MASK                                                                                 \
        (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE |        \
         IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK | IN_ONLYDIR | IN_DONT_FOLLOW)

#define MAX_DEPTH 256

int watch_ino_open(void)
{
        int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

        return fd < 0 ? negative_errno() : fd;
}

void watch_ino_done(struct watcher *w)
{
        for (size_t i = 0; i < w->n; i++)
                free(w->e[i].name);
        free(w->e);
        if (w->fd >= 0)
                close(w->fd);
}

/* Index of the first entry with wd >= the given wd. */
static size_t lower_bound(const struct watcher *w, int wd)
{
        size_t lo = 0, hi = w->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (w->e[mid].wd < wd)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static struct entry *find_entry(const struct watcher *w, int wd, unsigned item)
{
        for (size_t i = lower_bound(w, wd); i < w->n && w->e[i].wd == wd; i++)
                if (w->e[i].item == item)
                        return &w->e[i];
        return NULL;
}

/* True when some item watches wd: the kernel watch existed before it was asked for. */
static bool wd_in_use(const struct watcher *w, int wd)
{
        size_t i = lower_bound(w, wd);

        return i < w->n && w->e[i].wd == wd;
}

static bool wd_shared(const struct watcher *w, int wd, unsigned item)
{
        for (size_t i = lower_bound(w, wd); i < w->n && w->e[i].wd == wd; i++)
                if (w->e[i].item != item)
                        return true;
        return false;
}

static int insert_entry(struct watcher *w, int wd, int parent_wd, unsigned item, const char *name)
{
        struct entry *e;
        size_t at;
        char *n;

        e = find_entry(w, wd, item);
        if (e) {
                /* Watched already: a directory moved within the tree, perhaps before the
                 * event saying so is read. Where it is now is what counts (the root stays
                 * the root). */
                if (e->parent_wd != 0 && (e->parent_wd != parent_wd || !streq(e->name, name))) {
                        n = strdup(name);
                        if (!n)
                                return -ENOMEM;
                        free(e->name);
                        e->name = n;
                        e->parent_wd = parent_wd;
                }
                return 0;
        }
        n = strdup(name);
        if (!n)
                return -ENOMEM;
        if (w->n == w->alloc) {
                size_t na = w->alloc ? w->alloc * 2 : 64;
                struct entry *t = reallocarray(w->e, na, sizeof(*t));

                if (!t) {
                        free(n);
                        return -ENOMEM;
                }
                w->e = t;
                w->alloc = na;
        }
        /* New wds are larger than all before them, so this is an append but for shared
         * inodes. */
        at = lower_bound(w, wd + 1);
        memmove(&w->e[at + 1], &w->e[at], (w->n - at) * sizeof(*w->e));
        w->e[at] = (struct entry){ .wd = wd, .parent_wd = parent_wd, .item = item, .name = n };
        w->n++;
        return 1;
}

static void drop_entry(struct watcher *w, struct entry *e)
{
        size_t at = (size_t)(e - w->e);
        struct item *it = watch_find_item(w, e->item);

        if (it) {
                if (it->count > 0)
                        it->count--;
                if (it->root_wd == e->wd)
                        it->root_wd = -1;
        }
        free(e->name);
        memmove(&w->e[at], &w->e[at + 1], (w->n - at - 1) * sizeof(*w->e));
        w->n--;
}

/* Path of entry e (full, for inotify_add_watch), and relative to the item's transfer root
 * (for exclusions). Either out-parameter may be NULL. */
static int entry_paths(const struct watcher *w, const struct item *it, const struct entry *e,
                       char **ret_path, char **ret_rel, unsigned depth)
{
        _cleanup_free_ char *pp = NULL, *pr = NULL;
        const struct entry *parent;
        int r;

        if (e->parent_wd == 0) {
                if (ret_path && !(*ret_path = strdup(e->name)))
                        return -ENOMEM;
                if (ret_rel && !(*ret_rel = strdup(it->prefix))) {
                        if (ret_path)
                                free(*ret_path);
                        return -ENOMEM;
                }
                return 0;
        }
        parent = find_entry(w, e->parent_wd, e->item);
        if (!parent || depth > MAX_DEPTH)
                return -ENOENT;
        r = entry_paths(w, it, parent, ret_path ? &pp : NULL, ret_rel ? &pr : NULL, depth + 1);
        if (r < 0)
                return r;
        if (ret_path && asprintf(ret_path, "%s/%s", pp, e->name) < 0)
                return -ENOMEM;
        if (ret_rel && asprintf(ret_rel, "%s%s%s", pr, *pr ? "/" : "", e->name) < 0) {
                if (ret_path)
                        free(*ret_path);
                return -ENOMEM;
        }
        return 0;
}

/* Filesystems whose directories count their subdirectories in st_nlink (2 + subdirectories;
 * ext4 gives up past 65,000 and reports 1): there, a directory with st_nlink == 2 is a leaf
 * and need not be opened and read. btrfs and unknown filesystems are always read. */
static bool nlink_counts_subdirs(int fd)
{
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return false;
        switch ((unsigned long)sfs.f_type) {
        case 0xEF53UL:     /* ext2, ext3, ext4 */
        case 0x01021994UL: /* tmpfs */
        case 0x58465342UL: /* xfs */
        case 0x4d44UL:     /* vfat, msdos */
                return true;
        default:
                return false;
        }
}

/* Error message for a subdirectory `name` of the watched directory parent_wd: "what 'path':
 * reason", or the watch limit or depth explained. */
static int sub_errmsg(struct watcher *w, struct item *it, int parent_wd, const char *name, int r,
                      const char *what, char **why)
{
        _cleanup_free_ char *path = NULL;
        const struct entry *p = find_entry(w, parent_wd, it->id);

        if (!p || entry_paths(w, it, p, &path, NULL, 0) < 0)
                path = NULL; /* named without its directory then */
        if (r == -ELOOP)
                return errmsg(why, r, "'%s/%s' is nested more than %d levels deep", strna(path),
                              name, MAX_DEPTH);
        if (!path)
                return errmsg(why, r, "%s '%s': %s", what, name, strerror(-r));
        if (r == -ENOSPC)
                return errmsg(why, r,
                              "cannot watch '%s/%s': the inotify watch limit is reached "
                              "(raise fs.inotify.max_user_watches)",
                              path, name);
        return errmsg(why, r, "%s '%s/%s': %s", what, path, name, strerror(-r));
}

/* "rel/name", or "name" when rel is empty. */
static char *rel_join(const char *rel, const char *name)
{
        size_t a = strlen(rel), b = strlen(name);
        char *s = malloc(a + 1 + b + 1), *p;

        if (!s)
                return NULL;
        p = s;
        if (a > 0) {
                p = mempcpy(p, rel, a);
                *p++ = '/';
        }
        memcpy(p, name, b + 1);
        return s;
}

/* Watches every directory below the open directory fd (watched as wd; fd is consumed) on the
 * same filesystem that is not excluded. rel: the directory relative to the transfer root.
 *
 * Made for trees of 100,000 directories: it works in fd, since inotify_add_watch() has no
 * *at() form and a one-component lookup is what keeps it quick (the caller restores the
 * working directory), and it looks at each subdirectory once, after watching it. What it
 * sees then holds from the moment the watch exists: a subdirectory made later raises an
 * event, so a leaf (see nlink_counts_subdirs) need not be read. If the name was replaced
 * between the watch and the look, this directory's own watch has the events for it, and
 * handling them watches whatever is there now. */
static int scan_dir(struct watcher *w, struct item *it, int fd, int wd, const char *rel, dev_t dev,
                    unsigned depth, bool leaf_by_nlink, char **why)
{
        bool here = false;
        struct dirent *de;
        int r = 0;
        DIR *d;

        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                close(fd);
                return sub_errmsg(w, it, wd, ".", r, "cannot read", why);
        }
        errno = 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *subrel = NULL;
                struct stat st, again;
                bool known, gone;
                int cwd, cfd;

                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                subrel = rel_join(rel, de->d_name);
                if (!subrel) {
                        r = -ENOMEM;
                        break;
                }
                if (exclude_match(it->excludes, subrel, true))
                        goto next;
                if (depth + 1 > MAX_DEPTH) {
                        r = sub_errmsg(w, it, wd, de->d_name, -ELOOP, NULL, why);
                        break;
                }
                if (!here) {
                        if (fchdir(dirfd(d)) < 0) {
                                r = sub_errmsg(w, it, wd, ".", negative_errno(), "cannot enter",
                                               why);
                                break;
                        }
                        here = true;
                }
                /* IN_ONLYDIR | IN_DONT_FOLLOW: files and symbolic links fail with ENOTDIR. */
                cwd = inotify_add_watch(w->fd, de->d_name, WATCH_MASK);
                if (cwd < 0) {
                        if (errno == ENOENT || errno == ENOTDIR)
                                goto next; /* not a directory, or gone already */
                        r = sub_errmsg(w, it, wd, de->d_name, negative_errno(), "cannot watch",
                                       why);
                        break;
                }
                known = wd_in_use(w, cwd);
                gone = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0;
                if (gone && errno != ENOENT) {
                        r = sub_errmsg(w, it, wd, de->d_name, negative_errno(), "cannot stat", why);
                        if (!known)
                                (void)inotify_rm_watch(w->fd, cwd);
                        break;
                }
                if (gone || !S_ISDIR(st.st_mode) || st.st_dev != dev) {
                        /* Gone, replaced, or another filesystem mounted here (rsync -x
                         * does not cross it): not this item's to watch. */
                        if (!known)
                                (void)inotify_rm_watch(w->fd, cwd);
                        goto next;
                }
                r = insert_entry(w, cwd, wd, it->id, de->d_name);
                if (r < 0) {
                        if (!known)
                                (void)inotify_rm_watch(w->fd, cwd);
                        break;
                }
                if (r == 0)
                        goto next; /* watched already (a directory moved within the tree) */
                it->count++;
                if (leaf_by_nlink && st.st_nlink == 2)
                        goto next; /* no subdirectories, and a new one raises an event */
                cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (cfd < 0) {
                        if (errno == ENOENT || errno == ENOTDIR)
                                goto next; /* replaced: the events say so */
                        r = sub_errmsg(w, it, wd, de->d_name, negative_errno(), "cannot open", why);
                        break;
                }
                if (fstat(cfd, &again) < 0 || again.st_ino != st.st_ino ||
                    again.st_dev != st.st_dev) {
                        close(cfd); /* replaced: the events say so */
                        goto next;
                }
                r = scan_dir(w, it, cfd, cwd, subrel, dev, depth + 1, leaf_by_nlink, why);
                if (r < 0)
                        break;
                here = false;
        next:
                errno = 0;
        }
        if (r >= 0 && errno != 0)
                r = sub_errmsg(w, it, wd, ".", negative_errno(), "cannot read", why);
        closedir(d);
        return r < 0 ? r : 0;
}

/* Watches dir (full path) and every directory below it on the same filesystem that is not
 * excluded. rel: dir relative to the transfer root. dev: the filesystem dir must be on, when
 * depth > 0. */
static int add_tree(struct watcher *w, struct item *it, const char *dir, const char *name,
                    int parent_wd, const char *rel, dev_t dev, unsigned depth, char **why)
{
        _cleanup_close_ int fd = -1, saved_cwd = -1;
        bool leaf_by_nlink;
        struct stat st;
        int wd, r;

        if (depth > MAX_DEPTH)
                return errmsg(why, -ELOOP, "'%s' is nested more than %d levels deep", dir,
                              MAX_DEPTH);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (depth > 0 && (errno == ENOENT || errno == ENOTDIR))
                        return 0; /* gone already: its parent's event covers it */
                return errmsg(why, negative_errno(), "cannot open '%s': %m", dir);
        }
        if (fstat(fd, &st) < 0)
                return errmsg(why, negative_errno(), "cannot stat '%s': %m", dir);
        if (depth > 0 && st.st_dev != dev)
                return 0; /* another filesystem mounted here: rsync -x does not cross */

        wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
        if (wd < 0) {
                if (errno == ENOSPC)
                        return errmsg(why, -ENOSPC,
                                      "cannot watch '%s': the inotify watch limit is reached "
                                      "(raise fs.inotify.max_user_watches)",
                                      dir);
                if (depth > 0 && errno == ENOENT)
                        return 0;
                return errmsg(why, negative_errno(), "cannot watch '%s': %m", dir);
        }
        r = insert_entry(w, wd, parent_wd, it->id, depth == 0 ? dir : name);
        if (r < 0)
                return r;
        if (r == 0)
                return 0; /* this directory (and so its subtree) is watched already */
        it->count++;
        if (depth == 0)
                it->root_wd = wd;

        saved_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (saved_cwd < 0)
                return errmsg(why, negative_errno(), "cannot open the working directory: %m");
        leaf_by_nlink = nlink_counts_subdirs(fd);
        r = scan_dir(w, it, TAKE_FD(fd), wd, rel, st.st_dev, depth, leaf_by_nlink, why);
        if (fchdir(saved_cwd) < 0 && r >= 0)
                r = errmsg(why, negative_errno(), "cannot return to the working directory: %m");
        return r;
}

/* Removes item's entry for wd and everything below it, releasing kernel watches nobody else
 * uses. */
static void remove_subtree(struct watcher *w, unsigned item, int wd, unsigned depth)
{
        struct entry *e;

        if (depth > MAX_DEPTH)
                return;
        for (size_t i = 0; i < w->n;) {
                if (w->e[i].item == item && w->e[i].parent_wd == wd) {
                        size_t before = w->n;

                        remove_subtree(w, item, w->e[i].wd, depth + 1);
                        if (w->n != before) {
                                i = 0; /* entries moved: start over (rare: directory moves) */
                                continue;
                        }
                }
                i++;
        }
        e = find_entry(w, wd, item);
        if (!e)
                return;
        if (!wd_shared(w, wd, item))
                (void)inotify_rm_watch(w->fd, wd);
        drop_entry(w, e);
}

void watch_ino_remove(struct watcher *w, unsigned id)
{
        for (size_t i = w->n; i > 0; i--) {
                struct entry *e = &w->e[i - 1];

                if (e->item != id)
                        continue;
                if (!wd_shared(w, e->wd, id))
                        (void)inotify_rm_watch(w->fd, e->wd);
                drop_entry(w, e); /* shifts only entries already visited */
        }
}

/* After an event-queue overflow the events telling of new and moved directories are lost:
 * every inotify item is watched anew (its changes meanwhile are synced: the caller makes
 * every item dirty afterwards). */
static void rewatch_all(struct watcher *w)
{
        for (size_t i = 0; i < w->n_items; i++) {
                struct item *it = &w->items[i];
                char *why = NULL;

                if (it->fan)
                        continue;
                watch_ino_remove(w, it->id);
                it->count = 0;
                it->root_wd = -1;
                if (add_tree(w, it, it->root, it->root, 0, it->prefix, 0, 0, &why) < 0)
                        (void)strv_extendf(&w->warnings,
                                           "cannot watch '%s' again after an event-queue "
                                           "overflow: %s",
                                           it->root, strna(why));
                free(why);
        }
}

/* One event for one item's entry. Returns true when it concerns the item. */
static bool handle_event(struct watcher *w, struct item *it, struct entry *e,
                         const struct inotify_event *ev)
{
        _cleanup_free_ char *path = NULL, *rel = NULL, *sub = NULL, *subrel = NULL;
        bool is_dir = ev->mask & IN_ISDIR;
        int wd = e->wd;
        char *why = NULL;

        if (ev->mask & (IN_IGNORED | IN_UNMOUNT)) {
                /* The directory is gone (deleted, or its filesystem unmounted). */
                bool root = e->parent_wd == 0;

                drop_entry(w, e);
                return root;
        }
        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
                return e->parent_wd == 0; /* below the root, the parent's event covered it */
        if (ev->len == 0 || !*ev->name)
                return true;

        if (entry_paths(w, it, e, &path, &rel, 0) < 0)
                return true; /* cannot tell: a change noticed is never wrong */
        if (asprintf(&subrel, "%s%s%s", rel, *rel ? "/" : "", ev->name) < 0)
                return true;
        if (exclude_match(it->excludes, subrel, is_dir))
                return false;
        if (!is_dir)
                return true;

        if (ev->mask & IN_MOVED_FROM) {
                struct entry *child = NULL;

                for (size_t i = 0; i < w->n && !child; i++)
                        if (w->e[i].item == it->id && w->e[i].parent_wd == wd &&
                            streq(w->e[i].name, ev->name))
                                child = &w->e[i];
                if (child)
                        remove_subtree(w, it->id, child->wd, 0);
        } else if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
                struct stat st;

                if (asprintf(&sub, "%s/%s", path, ev->name) < 0 || stat(path, &st) < 0)
                        return true;
                if (add_tree(w, it, sub, ev->name, wd, subrel, st.st_dev, 1, &why) < 0)
                        (void)strv_extendf(&w->warnings,
                                           "%s; changes below it may go unnoticed until the next "
                                           "sync",
                                           strna(why));
                free(why);
        }
        return true;
}

int watch_ino_add(struct watcher *w, struct item *it, char **why)
{
        return add_tree(w, it, it->root, it->root, 0, it->prefix, 0, 0, why);
}

int watch_ino_process(struct watcher *w, watcher_event_cb cb, void *userdata)
{
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

        for (;;) {
                ssize_t n = watch_read_queue(w->fd, buf, sizeof(buf));

                if (n <= 0)
                        return (int)n; /* drained, or -errno */
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *)p;

                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                rewatch_all(w);
                                cb(WATCH_ALL_ITEMS, userdata);
                                continue;
                        }
                        /* Every item that watches this directory. handle_event may drop the
                         * entry, so look it up afresh each time. */
                        for (size_t k = 0; k < w->n_items; k++) {
                                struct item *it = &w->items[k];
                                struct entry *e = find_entry(w, ev->wd, it->id);

                                if (e && handle_event(w, it, e, ev))
                                        cb(it->id, userdata);
                        }
                }
        }
}
