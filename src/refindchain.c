/* SPDX-License-Identifier: MIT */
/*
 * rEFInd's chain on one disk (DESIGN.md §11b). What rEFInd does that matters here:
 *   - manual stanzas (shown when scanfor includes "manual", or scanfor is not set) start
 *     their loader from their `volume` (a filesystem label, partition label or partition
 *     GUID; without one, rEFInd's own volume), with their initrd and options;
 *   - its scan (scanfor internal/external, or not set) offers every Linux kernel (vmlinuz*,
 *     bzImage*, kernel*) in the root and /boot of each volume it can read and in
 *     also_scan_dirs, with the initrd in the same directory whose name holds the kernel's
 *     version, and the first line of refind_linux.conf beside it as the options;
 *   - it reads a filesystem other than FAT only through a driver in drivers_x64/ (or
 *     drivers/) beside it;
 *   - default_selection picks the first entry whose title or file name holds it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "bls.h"
#include "bootentry.h"
#include "loaderfile.h"
#include "refindcfg.h"
#include "refindchain.h"
#include "util/dirent-util.h"
#include "util/fileio.h"
#include "util/strv.h"

struct entry {
        char *title;
        char *how; /* its files and root=, for the chain's links (L9), or NULL */
        bool ok;
};

struct rctx {
        const struct chain_fs *fss;
        size_t n_fs, start;
        const char *dir; /* rEFInd's directory on fss[start], e.g. "EFI/refind" */
        struct chain_result *out;
        struct entry *entries;
        size_t n_entries;
};

/* root=... of an options string, as "root=..." or "no root=" (allocated). */
static char *root_of(const char *options)
{
        const char *r = options ? strstr(options, "root=") : NULL;

        while (r && r != options && r[-1] != ' ' && r[-1] != '\t' && r[-1] != '"')
                r = strstr(r + 1, "root=");
        return r ? strndup(r, strcspn(r, " \t\"")) : strdup("no root=");
}

static int add_entry(struct rctx *x, const char *title, bool ok, char *how)
{
        struct entry *t = reallocarray(x->entries, x->n_entries + 1, sizeof(*t));

        if (!t) {
                free(how);
                return -ENOMEM;
        }
        x->entries = t;
        t[x->n_entries] = (struct entry){ .ok = ok, .how = how };
        if (!(t[x->n_entries].title = strdup(title))) {
                free(how);
                return -ENOMEM;
        }
        x->n_entries++;
        return 0;
}

/* An entry is bootable unless a link is known broken: what could not be looked at stays
 * UNKNOWN in the report, never a NO (DESIGN.md §11 S13). */
static bool no_critical_since(const struct rctx *x, size_t before)
{
        for (size_t k = before; k < x->out->n; k++)
                if (x->out->findings[k].level == CHAIN_CRITICAL)
                        return false;
        return true;
}

/* Whether rEFInd can read fss[i]: FAT, or a driver for its type beside rEFInd. */
static int readable(struct rctx *x, size_t i, const char *where)
{
        const struct chain_fs *f = &x->fss[i];
        static const char *const subdirs[] = { "drivers_" EFI_ARCH, "drivers" };
        struct stat st;

        if (!f->fstype || streq(f->fstype, "vfat"))
                return 1;
        for (size_t k = 0; k < ELEMENTSOF(subdirs); k++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s/%s/%s_%s.efi", x->dir, subdirs[k], f->fstype, EFI_ARCH) < 0)
                        return -ENOMEM;
                if (bls_path_stat(x->fss[x->start].fd, p, &st) == 0 && S_ISREG(st.st_mode))
                        return 1;
        }
        return chain_add(x->out, CHAIN_CRITICAL,
                         "%s: %s is %s, and %s/drivers_%s/ on %s holds no %s_%s.efi: rEFInd "
                         "cannot read it",
                         where, f->name, f->fstype, x->dir, EFI_ARCH, x->fss[x->start].name,
                         f->fstype, EFI_ARCH);
}

/* A file on fss[i]: 1 present, 0 after a finding, -ENOMEM. */
static int need(struct rctx *x, size_t i, const char *where, const char *what, const char *path,
                enum loaderfile_kind kind)
{
        struct stat st;
        int r;

        if (!x->fss[i].this_disk)
                return chain_add(x->out, CHAIN_CRITICAL,
                                 "%s: %s %s is on %s, on the other disk: with that disk gone "
                                 "rEFInd cannot start it",
                                 where, what, path, x->fss[i].name);
        if (x->fss[i].fd < 0)
                return chain_add(x->out, CHAIN_UNKNOWN,
                                 "%s: %s %s is on %s, which is not mounted: not checked", where,
                                 what, path, x->fss[i].name);
        r = bls_path_stat(x->fss[i].fd, path, &st);
        if (r == -ENOMEM)
                return r;
        if (r == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
                /* DESIGN.md §11 S8: plausible for what it is */
                _cleanup_close_ int fd = bls_path_open(x->fss[i].fd, path, O_RDONLY);
                _cleanup_free_ char *why = NULL;

                r = fd < 0 ? fd : loaderfile_check_fd(fd, kind, &why);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        return 1;
                return chain_add(x->out, r == -EBADMSG ? CHAIN_CRITICAL : CHAIN_UNKNOWN,
                                 "%s: %s %s on %s: %s", where, what, path, x->fss[i].name,
                                 why ? why : strerror(-r));
        }
        return chain_add(x->out, r == 0 || r == -ENOENT ? CHAIN_CRITICAL : CHAIN_UNKNOWN,
                         "%s: %s %s: %s %s", where, what, path, x->fss[i].name,
                         r == -ENOENT ? "lacks it"
                         : r == 0 ? (S_ISREG(st.st_mode) ? "holds it empty" : "holds no file there")
                                  : strerror(-r));
}

static int options_root(struct rctx *x, const char *where, const char *options)
{
        int i = -1, r = chain_cmdline_foreign_root(x->fss, x->n_fs, options, &i);

        if (r <= 0)
                return r;
        return chain_add(x->out, CHAIN_CRITICAL,
                         "%s: the options' root= names %s, on the other disk: booted alone this "
                         "disk would not find its root",
                         where, x->fss[i].name);
}

static int run_stanzas(struct rctx *x, const struct refind_cfg *c, const char *file)
{
        int r = 0;

        for (size_t k = 0; k < c->n; k++) {
                const struct refind_stanza *s = &c->stanzas[k];
                size_t before = x->out->n;
                char where[512];
                int vol = (int)x->start;

                if (s->parent >= 0 || s->disabled || !s->loader)
                        continue;
                snprintf(where, sizeof(where), "%s:%u (stanza \"%s\")", file, s->line, s->title);
                if (s->volume) {
                        vol = chain_find_fs(x->fss, x->n_fs, "label", s->volume);
                        if (vol < 0)
                                vol = chain_find_fs(x->fss, x->n_fs, "partlabel", s->volume);
                        if (vol < 0)
                                vol = chain_find_fs(x->fss, x->n_fs, "partuuid", s->volume);
                        if (vol < 0) {
                                r = chain_add(x->out, CHAIN_CRITICAL,
                                              "%s: volume \"%s\" is no filesystem or partition "
                                              "of this disk (label, partition name or GUID)",
                                              where, s->volume);
                                if (r < 0)
                                        return r;
                        }
                }
                if (vol >= 0 && (r = readable(x, (size_t)vol, where)) > 0) {
                        r = need(x, (size_t)vol, where, "loader", s->loader, LOADERFILE_KERNEL);
                        if (r > 0 && s->initrd)
                                r = need(x, (size_t)vol, where, "initrd", s->initrd,
                                         LOADERFILE_INITRD);
                }
                if (r >= 0 && s->options)
                        r = options_root(x, where, s->options);
                if (r < 0)
                        return r;
                {
                        _cleanup_free_ char *root = root_of(s->options);
                        char *how = NULL;

                        if (!root || asprintf(&how, "loader %s, initrd %s, %s, on %s", s->loader,
                                              s->initrd ? s->initrd : "none", root,
                                              vol >= 0 ? x->fss[vol].name : s->volume) < 0)
                                return -ENOMEM;
                        if ((r = add_entry(x, s->title, no_critical_since(x, before), how)) < 0)
                                return r;
                }
        }
        return 0;
}

static bool is_kernel_name(const char *n)
{
        return startswith(n, "vmlinuz") || startswith(n, "bzImage") || startswith(n, "kernel");
}

/* The kernel's version: what follows the first '-' of its name ("6.1.0-27-amd64"). */
static const char *version_of(const char *kernel)
{
        const char *d = strchr(kernel, '-');

        return d && d[1] ? d + 1 : NULL;
}

/* One scanned kernel in directory dir_fd (path dir on fss[i]). */
static int run_kernel(struct rctx *x, size_t i, int dir_fd, const char *dir, const char *kernel)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ char *title = NULL, *text = NULL, *why = NULL;
        struct refind_linux_line *lines = NULL;
        const char *ver = version_of(kernel);
        _cleanup_free_ char *initrd_name = NULL, *root = NULL;
        char *how = NULL;
        bool initrd = false;
        size_t before = x->out->n, n_lines = 0, size;
        struct dirent *de;
        int fd, r;

        if (asprintf(&title, "%s%s%s on %s", dir, *dir ? "/" : "", kernel, x->fss[i].name) < 0)
                return -ENOMEM;
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
                int e = errno;

                if (fd >= 0)
                        close(fd);
                return chain_add(x->out, CHAIN_UNKNOWN, "%s: cannot list its directory: %s", title,
                                 strerror(e));
        }
        while (ver && (de = readdir(d)))
                if ((startswith(de->d_name, "initrd") || startswith(de->d_name, "initramfs")) &&
                    strstr(de->d_name, ver) && !initrd) {
                        initrd = true;
                        if (!(initrd_name = strdup(de->d_name)))
                                return -ENOMEM;
                }
        if (!initrd) {
                r = chain_add(x->out, CHAIN_WARNING,
                              "%s: no initrd beside it holds its version%s%s: rEFInd starts it "
                              "without one",
                              title, ver ? " " : "", ver ? ver : "");
                if (r < 0)
                        return r;
        }
        fd = openat(dir_fd, "refind_linux.conf", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                r = chain_add(x->out, errno == ENOENT ? CHAIN_CRITICAL : CHAIN_UNKNOWN,
                              "%s: %s: rEFInd would start it with no root= (write "
                              "refind_linux.conf beside it)",
                              title,
                              errno == ENOENT ? "no refind_linux.conf beside it"
                                              : "cannot open refind_linux.conf beside it");
        } else {
                r = read_full_fd(fd, REFIND_CFG_MAX + 1, &text, &size);
                close(fd);
                if (r >= 0)
                        r = refind_linux_parse(text, size, &lines, &n_lines, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        r = chain_add(x->out, CHAIN_CRITICAL, "%s: refind_linux.conf: %s", title,
                                      why ? why : strerror(-r));
                else if (n_lines == 0)
                        r = chain_add(x->out, CHAIN_CRITICAL,
                                      "%s: refind_linux.conf beside it has no line", title);
                else {
                        r = options_root(x, title, lines[0].options);
                        if (r >= 0 && !(root = root_of(lines[0].options)))
                                r = -ENOMEM;
                }
                refind_linux_free(lines, n_lines);
        }
        if (r < 0)
                return r;
        if (asprintf(&how, "kernel %s, initrd %s, refind_linux.conf's first line: %s", title,
                     initrd_name ? initrd_name : "none", root ? root : "none") < 0)
                return -ENOMEM;
        return add_entry(x, title, no_critical_since(x, before), how);
}

static int scan_dir(struct rctx *x, size_t i, const char *dir)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **kernels = NULL;
        struct dirent *de;
        int fd, r;

        fd = *dir ? bls_path_open(x->fss[i].fd, dir, O_RDONLY | O_DIRECTORY)
                  : openat(x->fss[i].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd == -ENOMEM)
                return fd;
        if (fd < 0)
                return 0; /* nothing there to scan */
        if (!(d = fdopendir(fd))) {
                close(fd);
                return -ENOMEM;
        }
        while ((de = readdir(d)))
                if (is_kernel_name(de->d_name) && de->d_type != DT_DIR &&
                    (r = strv_extend(&kernels, de->d_name)) < 0)
                        return r;
        strv_sort(kernels);
        /* Newest first, as rEFInd sorts them. */
        for (size_t k = strv_length(kernels); k > 0; k--)
                if ((r = run_kernel(x, i, dirfd(d), dir, kernels[k - 1])) < 0)
                        return r;
        return 0;
}

static int run_scan(struct rctx *x, const struct refind_cfg *c)
{
        int r;

        for (size_t i = 0; i < x->n_fs; i++) {
                const struct chain_fs *f = &x->fss[i];

                if (!f->this_disk || f->fd < 0)
                        continue;
                if (f->fstype && !streq(f->fstype, "vfat")) {
                        /* Scanned only through a driver; without one rEFInd does not see it,
                         * which is a finding only where a stanza needs it. */
                        _cleanup_free_ char *p = NULL;
                        struct stat st;

                        if (asprintf(&p, "%s/drivers_%s/%s_%s.efi", x->dir, EFI_ARCH, f->fstype,
                                     EFI_ARCH) < 0)
                                return -ENOMEM;
                        if (bls_path_stat(x->fss[x->start].fd, p, &st) < 0)
                                continue;
                }
                if ((r = scan_dir(x, i, "")) < 0 || (r = scan_dir(x, i, "boot")) < 0)
                        return r;
                STRV_FOREACH(a, c->also_scan_dirs)
                {
                        const char *colon = strchr(*a, ':'), *path = colon ? colon + 1 : *a;

                        if (colon && (!f->label || strncmp(*a, f->label, colon - *a) != 0 ||
                                      f->label[colon - *a]))
                                continue;
                        while (*path == '/' || *path == '\\')
                                path++;
                        if (!streq(path, "boot") && *path && (r = scan_dir(x, i, path)) < 0)
                                return r;
                }
        }
        return 0;
}

static bool scans_manual(const struct refind_cfg *c)
{
        if (!c->scanfor)
                return true;
        STRV_FOREACH(s, c->scanfor)
        if (strcasecmp(*s, "manual") == 0)
                return true;
        return false;
}

/* Reads and parses a configuration file of rEFInd's directory. 1 parsed, 0 after a finding. */
static int read_conf(struct rctx *x, const char *path, struct refind_cfg *ret)
{
        _cleanup_free_ char *text = NULL, *why = NULL, *name = NULL;
        _cleanup_close_ int fd = -1;
        size_t size;
        int r;

        if (asprintf(&name, "%s/%s", x->fss[x->start].name, path) < 0)
                return -ENOMEM;
        fd = bls_path_open(x->fss[x->start].fd, path, O_RDONLY);
        if (fd == -ENOMEM)
                return fd;
        if (fd < 0)
                return chain_add(x->out, fd == -ENOENT ? CHAIN_CRITICAL : CHAIN_UNKNOWN, "%s: %s",
                                 name, fd == -ENOENT ? "missing" : strerror(-fd));
        r = read_full_fd(fd, REFIND_CFG_MAX + 1, &text, &size);
        if (r >= 0)
                r = refind_cfg_parse(text, size, ret, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return chain_add(x->out, CHAIN_CRITICAL, "%s: rEFInd cannot read it: %s", name,
                                 why ? why : strerror(-r));
        return chain_add(x->out, CHAIN_LINK, "rEFInd reads %s", name) < 0 ? -ENOMEM : 1;
}

static int pick_default(struct rctx *x, const struct refind_cfg *c)
{
        const struct entry *e = NULL;

        if (x->n_entries == 0)
                return 0;
        if (c->default_selection && !streq(c->default_selection, "+"))
                for (size_t i = 0; i < x->n_entries && !e; i++)
                        if (strcasestr(x->entries[i].title, c->default_selection))
                                e = &x->entries[i];
        if (!e && c->default_selection && !streq(c->default_selection, "+")) {
                int r = chain_add(x->out, CHAIN_WARNING,
                                  "default_selection \"%s\" matches no entry: rEFInd selects the "
                                  "first",
                                  c->default_selection);
                if (r < 0)
                        return r;
        }
        if (!e)
                e = &x->entries[0];
        x->out->default_title = strdup(e->title);
        if (!x->out->default_title)
                return -ENOMEM;
        if (chain_add(x->out, CHAIN_LINK, "the default entry \"%s\": %s", e->title,
                      e->how ? e->how : "") < 0)
                return -ENOMEM;
        x->out->default_bootable = e->ok;
        return 0;
}

int refind_chain_check(const struct chain_fs *fss, size_t n_fs, size_t start, const char *conf,
                       struct chain_result *ret)
{
        struct chain_result out = {};
        _cleanup_(refind_cfg_done) struct refind_cfg c = {};
        _cleanup_free_ char *dir = NULL, *confname = NULL;
        const char *slash = strrchr(conf, '/');
        struct rctx x = { .fss = fss, .n_fs = n_fs, .start = start, .out = &out };
        int r;

        if (start >= n_fs || fss[start].fd < 0)
                return -EINVAL;
        dir = strndup(conf, slash ? (size_t)(slash - conf) : 0);
        if (!dir || asprintf(&confname, "%s/%s", fss[start].name, conf) < 0) {
                r = -ENOMEM;
                goto finish;
        }
        x.dir = dir;
        r = read_conf(&x, conf, &c);
        if (r <= 0)
                goto finish;
        if (scans_manual(&c)) {
                r = run_stanzas(&x, &c, confname);
                /* Stanzas of included files, one level deep, as rEFInd reads them. */
                STRV_FOREACH(inc, c.includes)
                {
                        _cleanup_(refind_cfg_done) struct refind_cfg ic = {};
                        _cleanup_free_ char *p = NULL, *pname = NULL;

                        if (r < 0)
                                break;
                        if (asprintf(&p, "%s%s%s", dir, *dir ? "/" : "", *inc) < 0 ||
                            asprintf(&pname, "%s/%s", fss[start].name, p) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        r = read_conf(&x, p, &ic);
                        if (r > 0)
                                r = run_stanzas(&x, &ic, pname);
                }
                if (r < 0)
                        goto finish;
        }
        if (!refind_cfg_manual_only(&c) && (r = run_scan(&x, &c)) < 0)
                goto finish;
        r = pick_default(&x, &c);
        if (r < 0)
                goto finish;
        out.worst = chain_worst(&out);
        if (x.n_entries == 0)
                r = chain_add(&out, out.worst >= CHAIN_UNKNOWN ? CHAIN_UNKNOWN : CHAIN_CRITICAL,
                              "%s offers no entry this disk can start (no manual stanza, no "
                              "kernel its scan finds)",
                              confname);
        else if (!out.default_bootable && out.worst < CHAIN_CRITICAL)
                r = chain_add(&out, CHAIN_CRITICAL,
                              "the default entry \"%s\" cannot boot from this disk alone",
                              out.default_title);
        for (size_t i = 0; i < x.n_entries; i++)
                if (x.entries[i].ok)
                        out.n_bootable++;
        out.n_entries = x.n_entries;
finish:
        for (size_t i = 0; i < x.n_entries; i++) {
                free(x.entries[i].title);
                free(x.entries[i].how);
        }
        free(x.entries);
        if (r < 0) {
                chain_result_done(&out);
                return r;
        }
        out.worst = chain_worst(&out);
        *ret = out;
        return 0;
}

const char *refind_find_conf(int esp_fd)
{
        static const char *const where[] = { "EFI/refind/refind.conf", "EFI/BOOT/refind.conf" };
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(where); i++)
                if (bls_path_stat(esp_fd, where[i], &st) == 0 && S_ISREG(st.st_mode))
                        return where[i];
        return NULL;
}
