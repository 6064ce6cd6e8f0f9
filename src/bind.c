/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "bind.h"
#include "blockdev.h"
#include "config.h"
#include "util/path.h"
#include "util/errmsg.h"
#include "util/strv.h"

void bind_plan_done(struct bind_plan *p)
{
        free(p->source);
        free(p->target);
        strv_free(p->shadowed);
        *p = (struct bind_plan){};
}

/* Names in dir, sorted, without "." and "..". */
static int list_dir(const char *dir, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (!l)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return negative_errno();
        errno = 0;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = strv_extend(&l, de->d_name);
                if (r < 0)
                        break;
                errno = 0;
        }
        if (r == 0 && errno != 0)
                r = negative_errno();
        closedir(d);
        if (r < 0)
                return r;
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

static const char *describe_fs(struct libmnt_fs *fs, char *buf, size_t size)
{
        dev_t d = mnt_fs_get_devno(fs);
        const char *src = mnt_fs_get_source(fs), *type = mnt_fs_get_fstype(fs);

        snprintf(buf, size, "%s (%s, device %u:%u)", src ? src : "?", type ? type : "?", major(d),
                 minor(d));
        return buf;
}

int bind_prepare(const struct esp_model *m, struct libmnt_table *t, const char *target,
                 struct bind_plan *ret, char **why)
{
        _cleanup_free_ char *tg = path_strip_trailing_slashes(target);
        _cleanup_free_ char *src = NULL;
        _cleanup_strv_free_ char **shadowed = NULL;
        struct libmnt_fs *fs;
        struct stat st;
        char desc[512];
        int r;

        if (!tg)
                return -ENOMEM;
        if (!m->boot_ok || !m->device_ok)
                return errmsg(why, -ENODEV, "cannot bind the booted ESP onto '%s': %s", tg,
                              m->why ? m->why : "booted ESP unknown");
        if (!m->booted.mount) {
                _cleanup_free_ char *set = strv_join(m->esp_set, ", ");

                return errmsg(why, -ENOENT,
                              "cannot bind the booted ESP %s onto '%s': it is not mounted on "
                              "any ESP mount point (%s)",
                              m->booted.device, tg,
                              !isempty(set)            ? set
                              : m->esp_set_from_config ? "esp_mounts is empty"
                                                       : "no /efi<N> directory exists");
        }

        /* The booted ESP mounted inside the target (Debian's installer: /boot/efi): this
         * machine keeps its kernels in the target (approach 2, DESIGN.md §12b); binding the ESP
         * over it would hide them and the ESP's own mount point. */
        {
                size_t n = strlen(tg);

                if (strncmp(m->booted.mount, tg, n) == 0 &&
                    (m->booted.mount[n] == '/' || streq(tg, "/")))
                        return errmsg(why, -EBUSY,
                                      "not binding the booted ESP onto '%s': it is mounted on "
                                      "%s, inside it, so this machine keeps its kernels in '%s' "
                                      "(approach 2): nothing is bound here (disable "
                                      "bind-mount-efi.service)",
                                      tg, m->booted.mount, tg);
        }

        /* B1: the target resolved first. A symlinked /boot (-> /efi0, say) would put the
         * booted ESP over whatever it points at, an alternate's mount point included. */
        {
                char real[PATH_MAX];

                if (lstat(tg, &st) < 0)
                        return errmsg(why, negative_errno(), "cannot bind onto '%s': %m", tg);
                if (S_ISLNK(st.st_mode) || !realpath(tg, real) || !streq(real, tg)) {
                        if (!realpath(tg, real))
                                return errmsg(why, negative_errno(), "cannot bind onto '%s': %m",
                                              tg);
                        return errmsg(why, -ELOOP,
                                      "cannot bind onto '%s': it resolves to '%s' (a symlink on "
                                      "the way); refusing to mount there. Make '%s' a directory "
                                      "of its own",
                                      tg, real, tg);
                }
        }
        if (stat(tg, &st) < 0)
                return errmsg(why, negative_errno(), "cannot bind onto '%s': %m", tg);
        if (!S_ISDIR(st.st_mode))
                return errmsg(why, -ENOTDIR, "cannot bind onto '%s': not a directory", tg);

        fs = mounts_find_target(t, tg);
        if (fs) {
                const char *root = mnt_fs_get_root(fs);

                if (mnt_fs_get_devno(fs) != m->booted.devnum)
                        return errmsg(why, -EBUSY,
                                      "'%s' already holds %s, not the booted ESP %s (UUID %s); "
                                      "refusing to mount over it",
                                      tg, describe_fs(fs, desc, sizeof(desc)), m->booted.device,
                                      strna(m->booted.uuid));
                if (root && !streq(root, "/"))
                        return errmsg(why, -EBUSY,
                                      "'%s' holds only '%s' of the booted ESP %s, not all of it; "
                                      "refusing to mount over it",
                                      tg, root, m->booted.device);
                return BIND_ALREADY;
        }

        r = list_dir(tg, &shadowed);
        if (r < 0)
                return errmsg(why, r, "cannot read '%s': %s", tg, strerror(-r));
        src = strdup(m->booted.mount);
        if (!src)
                return -ENOMEM;

        *ret = (struct bind_plan){
                .source = TAKE_PTR(src),
                .target = TAKE_PTR(tg),
                .shadowed = TAKE_PTR(shadowed),
        };
        return BIND_MOUNTED;
}

int bind_execute(const struct bind_plan *p, dev_t devnum, const char *mountinfo, char **why)
{
        _cleanup_mnt_table_ struct libmnt_table *t = NULL;
        struct libmnt_fs *fs;
        int r;

        /* The type is ignored for MS_BIND; "none" as mount(8) passes, not NULL. */
        if (mount(p->source, p->target, "none", MS_BIND, NULL) < 0)
                return errmsg(why, negative_errno(), "cannot bind-mount '%s' onto '%s': %m",
                              p->source, p->target);

        _cleanup_free_ char *m = NULL;

        r = mounts_load(mountinfo, &t);
        if (r < 0)
                errmsg(&m, r, "bound '%s' onto '%s' but cannot re-read the mount table: %s",
                       p->source, p->target, strerror(-r));
        else if (!(fs = mounts_find_target(t, p->target)) || mnt_fs_get_devno(fs) != devnum)
                r = errmsg(&m, -EIO,
                           "bound '%s' onto '%s' but the mount table does not show the booted "
                           "ESP there",
                           p->source, p->target);
        if (r >= 0)
                return 0;
        /* B1: a bind that cannot be verified is undone: a failed -b leaves the mount table
         * as it was. The target is no symlink (bind_prepare), so this is our mount. */
        if (umount2(p->target, UMOUNT_NOFOLLOW) < 0)
                return errmsg(why, r, "%s; undoing the bind failed too (%m): unmount '%s' by hand",
                              strna(m), p->target);
        return errmsg(why, r, "%s; the bind was undone", strna(m));
}

/* path resolved (realpath) when it exists, else as written; trailing slashes stripped. */
static char *resolved(const char *path)
{
        char real[PATH_MAX];

        return path_strip_trailing_slashes(realpath(path, real) ? real : path);
}

static bool at_or_under(const char *path, const char *dir)
{
        size_t n = strlen(dir);

        return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/' || streq(dir, "/"));
}

int bind_check_sync_items(const struct config *c, char *const *esp_set, const char *target,
                          bool already_bound, char **why)
{
        _cleanup_free_ char *tg = NULL;

        if (!c)
                return 0;
        tg = resolved(target);
        if (!tg)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_items; i++) {
                const struct sync_item *it = &c->items[i];
                _cleanup_free_ char *src = resolved(it->source);

                if (!src)
                        return -ENOMEM;
                if (!at_or_under(src, tg))
                        continue;
                STRV_FOREACH(d, it->dests)
                {
                        _cleanup_free_ char *dst = resolved(*d);
                        bool esp = false;

                        if (!dst)
                                return -ENOMEM;
                        STRV_FOREACH(e, esp_set)
                        {
                                _cleanup_free_ char *em = resolved(*e);

                                if (!em)
                                        return -ENOMEM;
                                esp = esp || at_or_under(dst, em);
                        }
                        if (esp)
                                continue; /* approach 1: the ESP's contents to an ESP */
                        if (already_bound)
                                return errmsg(why, -EBUSY,
                                              "the booted ESP is bound onto '%s', but the sync "
                                              "list's item %s -> %s (%s, line %u) copies what "
                                              "'%s' holds to a root's tree (approach 2: the "
                                              "kernels live in '%s'): the bind hides them from "
                                              "that item and from the boot loader. Unmount it "
                                              "(umount '%s') and disable the bind at boot "
                                              "(systemctl disable bind-mount-efi.service)",
                                              tg, it->source, *d, strna(c->path), it->line, tg, tg,
                                              tg);
                        return errmsg(why, -EBUSY,
                                      "not binding the booted ESP onto '%s': the sync list's item "
                                      "%s -> %s (%s, line %u) copies what '%s' holds to a root's "
                                      "tree (approach 2: the kernels live in '%s'), and the ESP "
                                      "bound over it would hide them from that item and from the "
                                      "boot loader. Nothing was bound; on approach 2 nothing is "
                                      "bound on '%s': disable the bind at boot (systemctl disable "
                                      "bind-mount-efi.service)",
                                      tg, it->source, *d, strna(c->path), it->line, tg, tg, tg);
                }
        }
        return 0;
}
