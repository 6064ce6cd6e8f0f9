/* SPDX-License-Identifier: MIT */
/*
 * The fanotify back end of watch.h: one FAN_MARK_FILESYSTEM mark (FAN_REPORT_DFID_NAME) for
 * a source that is the root of its filesystem; events name a directory by handle, resolved
 * to a path (and remembered) to match the item's exclusions.
 */
#include <limits.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include "util/exclude.h"
#include "util/macro.h"
#include "util/strv.h"
#include "watch-internal.h"

/* The same events as inotify's WATCH_MASK, for a filesystem mark (FAN_ONDIR: directories
 * too). */
#define FAN_WATCH_MASK                                                                             \
        (FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE | FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM |    \
         FAN_MOVED_TO | FAN_ONDIR)

int watch_fan_open(void)
{
        int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
                               O_RDONLY | O_CLOEXEC | O_LARGEFILE);

        return fd < 0 ? negative_errno() : fd;
}

void watch_fan_cache_clear(struct watcher *w)
{
        for (size_t i = 0; i < PATH_CACHE; i++) {
                free(w->cache[i].rel);
                w->cache[i] = (struct cached_dir){};
        }
}

void watch_fan_done(struct watcher *w)
{
        watch_fan_cache_clear(w);
        if (w->fan_fd >= 0)
                close(w->fan_fd);
}

static bool same_fsid(const fsid_t *a, const fsid_t *b)
{
        return memcmp(a, b, sizeof(*a)) == 0;
}

static bool fsid_marked_by_other(const struct watcher *w, const fsid_t *fsid, unsigned id)
{
        for (size_t i = 0; i < w->n_items; i++)
                if (w->items[i].fan && w->items[i].id != id && same_fsid(&w->items[i].fsid, fsid))
                        return true;
        return false;
}

/* One mark for the whole filesystem whose root is it->root: O(1) however large the tree.
 * Returns 0, or -errno when this filesystem or kernel cannot (the caller falls back). */
int watch_fan_add(struct watcher *w, struct item *it)
{
        struct file_handle *fh = (struct file_handle *)it->root_handle;
        struct statfs sfs;
        int mount_id;

        if (w->fan_fd < 0)
                return -EOPNOTSUPP;
        fh->handle_bytes = HANDLE_BUF - sizeof(struct file_handle);
        if (name_to_handle_at(AT_FDCWD, it->root, fh, &mount_id, 0) < 0)
                return negative_errno();
        if (statfs(it->root, &sfs) < 0)
                return negative_errno();
        if (fanotify_mark(w->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_WATCH_MASK, AT_FDCWD,
                          it->root) < 0)
                return negative_errno();
        it->fsid = sfs.f_fsid;
        it->fan = true;
        return 0;
}

void watch_fan_remove(struct watcher *w, struct item *it)
{
        /* By path: the mark goes with the filesystem if it is no longer there. */
        if (!fsid_marked_by_other(w, &it->fsid, it->id))
                (void)fanotify_mark(w->fan_fd, FAN_MARK_REMOVE | FAN_MARK_FILESYSTEM,
                                    FAN_WATCH_MASK, AT_FDCWD, it->root);
        watch_fan_cache_clear(w);
}

int watch_fan_refresh(struct watcher *w, const struct item *it)
{
        if (fanotify_mark(w->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_WATCH_MASK, AT_FDCWD,
                          it->root) < 0)
                return negative_errno();
        return 0;
}

/* The path, relative to the item's transfer root, of the directory a fanotify event names
 * by handle: the root itself, a remembered one, or resolved through open_by_handle_at().
 * NULL when it cannot be resolved (the directory is gone). */
static char *fan_dir_rel(struct watcher *w, const struct item *it, const struct file_handle *fh)
{
        const struct file_handle *root = (const struct file_handle *)it->root_handle;
        size_t len = sizeof(*fh) + fh->handle_bytes;
        _cleanup_close_ int mfd = -1, fd = -1;
        char link[64], *path = NULL, *rel = NULL;
        struct cached_dir *c;
        size_t n;
        ssize_t k;

        if (len > HANDLE_BUF)
                return NULL;
        if (root->handle_bytes == fh->handle_bytes && root->handle_type == fh->handle_type &&
            memcmp(root->f_handle, fh->f_handle, fh->handle_bytes) == 0)
                return strdup(it->prefix);
        for (size_t i = 0; i < PATH_CACHE; i++) {
                c = &w->cache[i];
                if (c->rel && c->item == it->id && c->len == len && memcmp(c->handle, fh, len) == 0)
                        return strdup(c->rel);
        }

        mfd = open(it->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (mfd < 0)
                return NULL;
        fd = open_by_handle_at(mfd, (struct file_handle *)fh, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        path = malloc(PATH_MAX);
        if (!path)
                return NULL;
        k = readlink(link, path, PATH_MAX - 1);
        if (k < 0) {
                free(path);
                return NULL;
        }
        path[k] = 0;
        n = strlen(it->root);
        if (strncmp(path, it->root, n) == 0 && path[n] == '/') {
                if (asprintf(&rel, "%s%s%s", it->prefix, *it->prefix ? "/" : "", path + n + 1) < 0)
                        rel = NULL;
        } else if (streq(it->root, "/") && path[0] == '/') {
                if (asprintf(&rel, "%s%s%s", it->prefix, *it->prefix ? "/" : "", path + 1) < 0)
                        rel = NULL;
        }
        free(path);
        if (!rel)
                return NULL;
        c = &w->cache[w->cache_next++ % PATH_CACHE];
        free(c->rel);
        *c = (struct cached_dir){ .item = it->id, .len = len, .rel = strdup(rel) };
        memcpy(c->handle, fh, len);
        return rel;
}

int watch_fan_process(struct watcher *w, watcher_event_cb cb, void *userdata)
{
        char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));

        for (;;) {
                ssize_t n = watch_read_queue(w->fan_fd, buf, sizeof(buf));
                size_t off = 0;

                if (n <= 0)
                        return (int)n; /* drained, or -errno */
                /* Events are only 4-byte aligned (their names are padded to 4), but the
                 * metadata holds a u64: copy each header out rather than cast in place. */
                for (struct fanotify_event_metadata mdc, *md = &mdc; off + sizeof(mdc) <= (size_t)n;
                     off += mdc.event_len) {
                        const struct fanotify_event_info_fid *fid = NULL;
                        const struct file_handle *fh;
                        const char *name = NULL;
                        char *p, *end;

                        memcpy(&mdc, buf + off, sizeof(mdc));
                        if (mdc.event_len < sizeof(mdc) || off + mdc.event_len > (size_t)n ||
                            mdc.metadata_len < sizeof(mdc) || mdc.metadata_len > mdc.event_len ||
                            md->vers != FANOTIFY_METADATA_VERSION) {
                                /* The rest of this read cannot be parsed: its changes are
                                 * not known, so everything counts as changed. */
                                cb(WATCH_ALL_ITEMS, userdata);
                                return -EPROTO;
                        }
                        p = buf + off + mdc.metadata_len;
                        end = buf + off + mdc.event_len;
                        if (md->fd >= 0)
                                close(md->fd); /* not with FID reporting; be safe */
                        if (md->mask & FAN_Q_OVERFLOW) {
                                cb(WATCH_ALL_ITEMS, userdata);
                                continue;
                        }
                        while (p + sizeof(struct fanotify_event_info_header) <= end) {
                                const struct fanotify_event_info_header *h = (void *)p;

                                if (h->len < sizeof(*h) || p + h->len > end)
                                        break;
                                if (h->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME ||
                                    h->info_type == FAN_EVENT_INFO_TYPE_DFID) {
                                        size_t head = sizeof(*fid) + sizeof(*fh);

                                        fid = (const struct fanotify_event_info_fid *)p;
                                        fh = (const struct file_handle *)fid->handle;
                                        if (h->len < head || fh->handle_bytes > h->len - head)
                                                fid = NULL; /* malformed: ignore the record */
                                        else if (h->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME &&
                                                 memchr(fh->f_handle + fh->handle_bytes, 0,
                                                        h->len - head - fh->handle_bytes))
                                                name = (const char *)fh->f_handle +
                                                       fh->handle_bytes;
                                        break;
                                }
                                p += h->len;
                        }
                        if (!fid) {
                                cb(WATCH_ALL_ITEMS, userdata); /* unreadable: assume changes */
                                continue;
                        }
                        fh = (const struct file_handle *)fid->handle;
                        if ((md->mask & FAN_ONDIR) &&
                            (md->mask & (FAN_MOVED_FROM | FAN_MOVED_TO | FAN_DELETE)))
                                watch_fan_cache_clear(w); /* directory paths may have changed */

                        for (size_t k = 0; k < w->n_items; k++) {
                                struct item *it = &w->items[k];
                                _cleanup_free_ char *dir = NULL, *rel = NULL;

                                if (!it->fan || !same_fsid(&it->fsid, (const fsid_t *)&fid->fsid))
                                        continue;
                                dir = fan_dir_rel(w, it, fh);
                                if (!dir) {
                                        cb(it->id, userdata); /* cannot tell: count it */
                                        continue;
                                }
                                if (name && *name && !streq(name, ".")) {
                                        if (asprintf(&rel, "%s%s%s", dir, *dir ? "/" : "", name) <
                                            0) {
                                                cb(it->id, userdata);
                                                continue;
                                        }
                                } else {
                                        rel = TAKE_PTR(dir);
                                }
                                if (!exclude_match(it->excludes, rel, md->mask & FAN_ONDIR))
                                        cb(it->id, userdata);
                        }
                }
        }
}
