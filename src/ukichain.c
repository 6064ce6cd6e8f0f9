/* SPDX-License-Identifier: MIT */
/* A kernel started directly by a Boot#### entry (DESIGN.md §11b L11). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "bls.h"
#include "loaderfile.h"
#include "uki.h"
#include "ukichain.h"

struct kctx {
        const struct chain_fs *fss;
        size_t n_fs, start;
        bool partial;
        const char *where; /* "/efi1/EFI/Linux/x.efi" */
        struct chain_result *out;
};

/* The value of the last "key=" of cmdline (the kernel takes the last), allocated, quotes
 * removed; NULL in *ret when there is none. */
static int last_param(const char *cmdline, const char *key, char **ret)
{
        size_t kl = strlen(key);
        const char *found = NULL;
        size_t found_len = 0;

        *ret = NULL;
        for (const char *p = cmdline; p && *p;) {
                size_t len;

                p += strspn(p, " \t\n");
                len = strcspn(p, " \t\n");
                if (len > kl && strncmp(p, key, kl) == 0) {
                        found = p + kl;
                        found_len = len - kl;
                }
                p += len;
        }
        if (!found)
                return 0;
        if (found_len >= 2 && found[0] == '"' && found[found_len - 1] == '"') {
                found++;
                found_len -= 2;
        }
        *ret = strndup(found, found_len);
        return *ret ? 1 : -ENOMEM;
}

/* Every "initrd=" value of cmdline, in order (the EFI stub loads each). */
static int initrds(const char *cmdline, char ***ret)
{
        for (const char *p = cmdline; p && *p;) {
                size_t len;

                p += strspn(p, " \t\n");
                len = strcspn(p, " \t\n");
                if (len > 7 && strncmp(p, "initrd=", 7) == 0) {
                        char **t;
                        size_t n = 0;

                        while (*ret && (*ret)[n])
                                n++;
                        t = reallocarray(*ret, n + 2, sizeof(char *));
                        if (!t)
                                return -ENOMEM;
                        *ret = t;
                        t[n + 1] = NULL;
                        if (!(t[n] = strndup(p + 7, len - 7)))
                                return -ENOMEM;
                }
                p += len;
        }
        return 0;
}

static void strv_free_local(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

/* root=: UUID=, PARTUUID= (a /PARTNROFF= suffix is not followed), LABEL=, PARTLABEL= and
 * their /dev/disk/by-* forms name a filesystem; anything else (/dev/sda2, /dev/md0, a
 * major:minor) names a device by what the kernel finds at boot: not judged. */
static int judge_root(struct kctx *x, const char *source, const char *cmdline)
{
        static const struct {
                const char *tag, *kind;
        } tags[] = { { "UUID=", "uuid" },
                     { "PARTUUID=", "partuuid" },
                     { "LABEL=", "label" },
                     { "PARTLABEL=", "partlabel" },
                     { "/dev/disk/by-uuid/", "uuid" },
                     { "/dev/disk/by-partuuid/", "partuuid" },
                     { "/dev/disk/by-label/", "label" },
                     { "/dev/disk/by-partlabel/", "partlabel" } };
        _cleanup_free_ char *root = NULL;
        int r = last_param(cmdline, "root=", &root);

        if (r < 0)
                return r;
        if (r == 0) {
                x->out->root_unchecked = true;
                return chain_add(x->out, CHAIN_LINK,
                                 "%s: %s has no root=: which root the initrd mounts (systemd's "
                                 "partition discovery, a built-in command line) is not checked",
                                 x->where, source);
        }
        for (size_t k = 0; k < ELEMENTSOF(tags); k++) {
                size_t tl = strlen(tags[k].tag);
                _cleanup_free_ char *v = NULL;
                int i;

                if (strncmp(root, tags[k].tag, tl) != 0)
                        continue;
                v = strndup(root + tl, strcspn(root + tl, "/"));
                if (!v)
                        return -ENOMEM;
                i = chain_find_fs(x->fss, x->n_fs, tags[k].kind, v);
                if (i >= 0 && x->fss[i].this_disk)
                        return chain_add(x->out, CHAIN_LINK, "%s's root=%s: %s, on this disk",
                                         source, root, x->fss[i].name);
                if (i >= 0)
                        return chain_add(x->out, CHAIN_CRITICAL,
                                         "%s: %s's root=%s names %s, on the other disk: booted "
                                         "alone this disk would not find its root",
                                         x->where, source, root, x->fss[i].name);
                x->out->root_unchecked = true;
                return chain_add(x->out, x->partial ? CHAIN_LINK : CHAIN_CRITICAL,
                                 x->partial ? "%s: %s's root=%s is none of the ESPs --status "
                                              "knows: which disk holds it is not checked"
                                            : "%s: %s's root=%s names no filesystem of this "
                                              "disk: booted alone it would not find its root",
                                 x->where, source, root);
        }
        x->out->root_unchecked = true;
        return chain_add(x->out, CHAIN_LINK,
                         "%s: %s's root=%s names a device, not a filesystem identifier: which "
                         "disk it is depends on the disks present, not checked",
                         x->where, source, root);
}

/* Each initrd= of a plain kernel's command line: the EFI stub reads it from the volume the
 * kernel was started from (Documentation/admin-guide/efi-stub.rst). */
static int judge_initrds(struct kctx *x, const char *cmdline)
{
        const struct chain_fs *esp = &x->fss[x->start];
        char **list = NULL;
        int r = initrds(cmdline, &list);

        for (size_t i = 0; r >= 0 && list && list[i]; i++) {
                _cleanup_free_ char *why = NULL;
                int k = bls_path_check(esp->fd, list[i], LOADERFILE_INITRD, &why);

                if (k == -ENOMEM)
                        r = k;
                else if (k == 0)
                        r = chain_add(x->out, CHAIN_LINK, "initrd=%s: on %s", list[i], esp->name);
                else if (k == -ENOENT || k == -EMEDIUMTYPE || k == -EBADMSG)
                        r = chain_add(x->out, CHAIN_CRITICAL,
                                      "%s: the command line's initrd=%s: %s %s%s%s", x->where,
                                      list[i], esp->name,
                                      k == -ENOENT        ? "lacks it"
                                      : k == -EMEDIUMTYPE ? "holds something other than a file "
                                                            "there"
                                                          : "holds it, but",
                                      k == -EBADMSG ? " " : "", k == -EBADMSG ? strna(why) : "");
                else
                        r = chain_add(x->out, CHAIN_UNKNOWN, "%s: initrd=%s on %s: %s", x->where,
                                      list[i], esp->name, strna(why));
        }
        strv_free_local(list);
        return r;
}

int uki_chain_check(const struct chain_fs *fss, size_t n_fs, size_t start, const char *file,
                    const uint8_t *optional, size_t optional_size, bool partial,
                    struct chain_result *ret)
{
        _cleanup_(chain_result_done) struct chain_result c = {};
        _cleanup_(uki_image_done) struct uki_image u = {};
        _cleanup_free_ char *why = NULL, *where = NULL, *opt = NULL, *shown = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct kctx x = { .fss = fss, .n_fs = n_fs, .start = start, .partial = partial, .out = &c };
        int r, k;

        *ret = (struct chain_result){};
        if (fss[start].fd < 0)
                return 0;
        fd = bls_path_open(fss[start].fd, file, O_RDONLY);
        if (fd == -ENOMEM)
                return fd;
        if (fd < 0)
                return 0; /* the entry's own check says it is missing */
        r = uki_read_fd(fd, &u, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || u.kind == UKI_NONE)
                return 0;

        shown = strdup(file + strspn(file, "/\\"));
        if (!shown)
                return -ENOMEM;
        for (char *p = shown; *p; p++)
                if (*p == '\\')
                        *p = '/';
        if (asprintf(&where, "%s/%s", fss[start].name, shown) < 0)
                return -ENOMEM;
        x.where = where;
        c.n_entries = 1;
        if (!(c.default_title = strdup(where)))
                return -ENOMEM;

        r = chain_add(&c, CHAIN_LINK, "%s is %s: the firmware starts the kernel directly%s", where,
                      u.kind == UKI_UKI ? "a unified kernel image" : "an EFI-stub kernel",
                      u.kind == UKI_UKI && u.has_initrd ? ", with the initrd in its .initrd" : "");
        if (r < 0)
                return r;
        /* DESIGN.md §11 S8: plausible for what it is. */
        free(why);
        why = NULL;
        k = loaderfile_check_fd(fd, u.kind == UKI_UKI ? LOADERFILE_UKI : LOADERFILE_KERNEL, &why);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                r = chain_add(&c, k == -EBADMSG ? CHAIN_CRITICAL : CHAIN_UNKNOWN, "%s: %s%s", where,
                              k == -EBADMSG ? "not one the firmware can start: " : "", strna(why));
        if (r < 0)
                return r;

        free(why);
        why = NULL;
        k = uki_optional_cmdline(optional, optional_size, &opt, &why);
        if (k == -ENOMEM)
                return k;
        if (k < 0 && (r = chain_add(&c, CHAIN_CRITICAL, "%s: the boot entry's command line: %s",
                                    where, strna(why))) < 0)
                return r;

        if (u.kind == UKI_UKI) {
                if (u.cmdline) {
                        r = chain_add(&c, CHAIN_LINK, "its .cmdline: %s", u.cmdline);
                        if (r >= 0)
                                r = judge_root(&x, "its .cmdline", u.cmdline);
                }
                /* systemd-stub takes the entry's command line instead of .cmdline unless
                 * Secure Boot is on: both must lead to this disk. */
                if (r >= 0 && opt && *opt) {
                        r = chain_add(&c, CHAIN_LINK, "the boot entry's command line%s: %s",
                                      u.cmdline ? " (used instead of .cmdline without Secure "
                                                  "Boot)"
                                                : "",
                                      opt);
                        if (r >= 0)
                                r = judge_root(&x, "the boot entry's command line", opt);
                }
                if (r >= 0 && !u.cmdline && !(opt && *opt))
                        r = judge_root(&x, "its command line (no .cmdline, no optional data)", "");
        } else {
                if (opt && *opt)
                        r = chain_add(&c, CHAIN_LINK, "the boot entry's command line: %s", opt);
                if (r >= 0)
                        r = judge_root(&x,
                                       opt && *opt ? "the boot entry's command line"
                                                   : "the boot entry (no optional data, so no "
                                                     "command line)",
                                       opt ? opt : "");
                if (r >= 0 && opt)
                        r = judge_initrds(&x, opt);
        }
        if (r < 0)
                return r;
        /* Bootable unless a link is known broken (L1b): UNKNOWN stays unknown. */
        c.worst = chain_worst(&c);
        c.default_bootable = c.worst < CHAIN_CRITICAL;
        c.n_bootable = c.default_bootable ? 1 : 0;
        *ret = c;
        c = (struct chain_result){};
        return 1;
}
