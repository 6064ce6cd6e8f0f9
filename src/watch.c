/* SPDX-License-Identifier: MIT */
/* The items and the API of watch.h; the back ends are watch-inotify.c and watch-fanotify.c. */
#include <assert.h>
#include <unistd.h>

#include "ignore.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/strv.h"
#include "watch-internal.h"

int watcher_new(struct watcher **ret)
{
        struct watcher *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->fd = watch_ino_open();
        if (w->fd < 0) {
                int r = w->fd;

                free(w);
                return r;
        }
        /* Linux >= 5.9 and CAP_SYS_ADMIN; without it every tree uses inotify. */
        w->fan_fd = watch_fan_open();
        if (w->fan_fd < 0)
                log_debug_errno(w->fan_fd, "fanotify is not available (%m); using inotify only");
        *ret = w;
        return 0;
}

static void item_done(struct item *it)
{
        free(it->root);
        free(it->prefix);
        strv_free(it->excludes);
}

struct watcher *watcher_free(struct watcher *w)
{
        if (!w)
                return NULL;
        watch_ino_done(w);
        watch_fan_done(w);
        for (size_t i = 0; i < w->n_items; i++)
                item_done(&w->items[i]);
        free(w->items);
        strv_free(w->warnings);
        free(w);
        return NULL;
}

char **watcher_take_warnings(struct watcher *w)
{
        assert(w);
        return TAKE_PTR(w->warnings);
}

int watcher_fd(const struct watcher *w)
{
        return w->fd;
}

int watcher_fanotify_fd(const struct watcher *w)
{
        return w->fan_fd;
}

struct item *watch_find_item(const struct watcher *w, unsigned id)
{
        for (size_t i = 0; i < w->n_items; i++)
                if (w->items[i].id == id)
                        return &w->items[i];
        return NULL;
}

int watcher_add(struct watcher *w, unsigned id, const char *source, char *const *excludes,
                bool whole_fs, char **why)
{
        _cleanup_free_ char *root = NULL;
        struct item *t, *it;
        const char *base;
        size_t n = strlen(source);
        int r;

        if (watch_find_item(w, id))
                watcher_remove(w, id);
        root = path_strip_trailing_slashes(source);
        if (!root)
                return -ENOMEM;
        base = strrchr(root, '/');
        base = base ? base + 1 : root;

        t = reallocarray(w->items, w->n_items + 1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        w->items = t;
        it = &w->items[w->n_items];
        *it = (struct item){ .id = id, .root_wd = -1 };
        it->prefix = strdup(source[n - 1] == '/' ? "" : base);
        it->excludes = strv_copy(excludes);
        if (!it->prefix || !it->excludes || strv_extend(&it->excludes, IGNORED_LOST_FOUND) < 0) {
                item_done(it);
                return -ENOMEM;
        }
        it->root = TAKE_PTR(root);
        w->n_items++;

        if (whole_fs) {
                r = watch_fan_add(w, it);
                if (r >= 0)
                        return 0;
                log_debug("cannot put a fanotify mark on '%s' (%s); watching it with inotify",
                          it->root, strerror(-r));
        }
        r = watch_ino_add(w, it, why);
        if (r < 0) {
                watcher_remove(w, id);
                return r;
        }
        return (int)it->count;
}

void watcher_remove(struct watcher *w, unsigned id)
{
        struct item *it = watch_find_item(w, id);

        if (it && it->fan)
                watch_fan_remove(w, it);
        watch_ino_remove(w, id);
        if (!it)
                return;
        item_done(it);
        *it = w->items[--w->n_items];
}

bool watcher_active(const struct watcher *w, unsigned id)
{
        const struct item *it = watch_find_item(w, id);

        return it && (it->fan || it->root_wd >= 0);
}

int watcher_refresh(struct watcher *w, unsigned id)
{
        const struct item *it = watch_find_item(w, id);

        return it && it->fan ? watch_fan_refresh(w, it) : 0;
}

const char *watcher_backend(const struct watcher *w, unsigned id)
{
        const struct item *it = watch_find_item(w, id);

        return !it ? "none" : it->fan ? "fanotify" : "inotify";
}

size_t watcher_count(const struct watcher *w, unsigned id)
{
        const struct item *it = watch_find_item(w, id);

        return it ? it->count : 0;
}

/* One read of a non-blocking event queue: bytes read, 0 once it is empty, or -errno. */
ssize_t watch_read_queue(int fd, void *buf, size_t size)
{
        for (;;) {
                ssize_t n = read(fd, buf, size);

                if (n >= 0)
                        return n;
                if (errno == EAGAIN)
                        return 0;
                if (errno != EINTR)
                        return negative_errno();
        }
}

int watcher_process(struct watcher *w, watcher_event_cb cb, void *userdata)
{
        if (w->fan_fd >= 0) {
                int r = watch_fan_process(w, cb, userdata);

                if (r < 0)
                        return r;
        }
        return watch_ino_process(w, cb, userdata);
}
