/* SPDX-License-Identifier: MIT */
/*
 * --add-disk for approach 2 (DESIGN.md §12b): a machine whose root is neither btrfs nor on md
 * gets its second disk as the booted disk's twin: every partition's filesystem made like its
 * counterpart (A2, A3), mounted under the alternate root (A4), the config's sync list and
 * swap_ids checked (A5), the XBOOTLDR driver checked (A6), the first copy through the normal
 * sync (A7). adddisk.c runs the steps; this file is what they do for a twin.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adddisk-internal.h"
#include "blockdev.h"
#include "btrfsfeat.h"
#include "disk.h"
#include "e2fsfeat.h"
#include "fstab.h"
#include "procswaps.h"
#include "rsync.h"
#include "sync.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/path.h"
#include "util/strv.h"
#include "xfsfeat.h"

#define GPT_TYPE_XBOOTLDR "bc13c2ff-59e6-4262-a352-b275fd6f7172"
#define TWIN_MOUNT_OPTIONS "defaults,nofail,x-systemd.device-timeout=30s"
#define DEFAULT_ALT_ROOT "/mnt/root1"

static const char *str_empty(const char *s)
{
        return s ? s : "";
}

void twin_done(struct ad *d)
{
        for (size_t i = 0; i < d->n_tw; i++) {
                free(d->tw[i].fstype);
                free(d->tw[i].label);
                free(d->tw[i].new_label);
                free(d->tw[i].mount);
                free(d->tw[i].target);
                free(d->tw[i].dev);
                free(d->tw[i].uuid);
        }
        free(d->tw);
        free(d->alt_root);
}

/* A3: the digits ending the alternate root's mount point ("1" of /mnt/root1), else NULL. */
static const char *trailing_digits(const char *s)
{
        size_t n = strlen(s);

        while (n > 0 && isdigit((unsigned char)s[n - 1]))
                n--;
        return s[n] ? s + n : NULL;
}

/* A3: "root0" -> "root1" (the twin's number: the alternate root's; else the label's + 1); a
 * label with no number is kept as it is. */
char *twin_label(const char *label, const char *alt_root)
{
        const char *num, *k;
        char *r;

        if (!label)
                return NULL;
        num = trailing_digits(label);
        if (!num)
                return strdup(label);
        k = trailing_digits(alt_root);
        if (k && strcmp(k, num) != 0) {
                if (asprintf(&r, "%.*s%s", (int)(num - label), label, k) < 0)
                        return NULL;
                return r;
        }
        if (asprintf(&r, "%.*s%lu", (int)(num - label), label, strtoul(num, NULL, 10) + 1) < 0)
                return NULL;
        return r;
}

/* A2: the filesystems dual-root makes, each as mkfs.TYPE (or mkswap) with its label option. */
static const struct {
        const char *fstype, *prog, *label_opt;
} makers[] = {
        { "ext4", "mkfs.ext4", "-L" },   { "ext3", "mkfs.ext3", "-L" },
        { "ext2", "mkfs.ext2", "-L" },   { "xfs", "mkfs.xfs", "-L" },
        { "btrfs", "mkfs.btrfs", "-L" }, { "vfat", "mkfs.vfat", "-n" },
        { "swap", "mkswap", "-L" },
};

static int maker_of(const char *fstype)
{
        for (size_t i = 0; i < ELEMENTSOF(makers); i++)
                if (streq_ptr(fstype, makers[i].fstype))
                        return (int)i;
        return -1;
}

/* Whether fs is a mount of the block device devnum: by its device number, or for btrfs (whose
 * mounts have an anonymous device number) by its source. */
static bool mounts_dev(struct libmnt_fs *fs, dev_t devnum)
{
        const char *src = mnt_fs_get_source(fs);
        struct stat st;

        return mnt_fs_get_devno(fs) == devnum || (src && src[0] == '/' && stat(src, &st) == 0 &&
                                                  S_ISBLK(st.st_mode) && st.st_rdev == devnum);
}

/* Where dev (the booted disk's partition) is mounted as a whole filesystem, or NULL. */
static char *mount_of(struct libmnt_table *t, dev_t devnum)
{
        struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
        struct libmnt_fs *fs;
        char *best = NULL;

        if (!it)
                return NULL;
        while (mnt_table_next_fs(t, it, &fs) == 0) {
                const char *tg = mnt_fs_get_target(fs);

                if (!mounts_dev(fs, devnum) || !streq_ptr(mnt_fs_get_root(fs), "/") || !tg)
                        continue;
                /* the shortest: "/" before a bind of it elsewhere */
                if (!best || strlen(tg) < strlen(best)) {
                        free(best);
                        best = strdup(tg);
                }
        }
        mnt_free_iter(it);
        return best;
}

static char *under_alt(const char *alt, const char *mount)
{
        char *r;

        if (streq(mount, "/"))
                return strdup(alt);
        return asprintf(&r, "%s%s", alt, mount) < 0 ? NULL : r;
}

/* "/x/" and "/x" name the same tree for A5's comparisons. */
static bool same_path(const char *a, const char *b)
{
        size_t na = strlen(a), nb = strlen(b);

        while (na > 1 && a[na - 1] == '/')
                na--;
        while (nb > 1 && b[nb - 1] == '/')
                nb--;
        return na == nb && strncmp(a, b, na) == 0;
}

/* A6: the driver systemd-boot needs to read an XBOOTLDR of fstype, in esp/EFI/systemd/drivers/.
 * 1 there (or not needed: a FAT XBOOTLDR, or no systemd-boot on the ESP), 0 missing. */
static int driver_present(const char *esp, const char *fstype)
{
        _cleanup_free_ char *sd = NULL, *dir = NULL;
        DIR *dh;
        struct dirent *de;
        bool ext = startswith(fstype, "ext") != NULL;
        int found = 0;

        if (streq(fstype, "vfat"))
                return 1;
        if (asprintf(&sd, "%s/EFI/systemd", esp) < 0 || asprintf(&dir, "%s/drivers", sd) < 0)
                return -ENOMEM;
        if (access(sd, F_OK) < 0)
                return 1; /* another loader (GRUB reads ext4 itself) */
        dh = opendir(dir);
        if (!dh)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(dh)))
                /* efifs names its drivers after the filesystem ("ext2_x64.efi" reads ext4) */
                if ((ext && (strcasestr(de->d_name, "ext2") || strcasestr(de->d_name, "ext4"))) ||
                    strcasestr(de->d_name, fstype))
                        found = 1;
        closedir(dh);
        return found;
}

int twin_check_driver(struct ad *d, const char *esp, char **why)
{
        for (size_t i = 0; i < d->n_tw; i++) {
                const struct twin_part *p = &d->tw[i];
                int r;

                if (!p->xbootldr)
                        continue;
                r = driver_present(esp, p->fstype);
                if (r < 0)
                        return errmsg(why, r, "cannot read %s/EFI/systemd/drivers: %s", esp,
                                      strerror(-r));
                if (r == 0)
                        return errmsg(why, -ENOENT,
                                      "systemd-boot on %s cannot read the XBOOTLDR partition %zu "
                                      "(%s, %s) without a driver for %s in %s/EFI/systemd/drivers/ "
                                      "(there is none): the disk would show no entries. Put one "
                                      "there (an EFI filesystem driver such as efifs' %s_x64.efi), "
                                      "then run the same command again",
                                      esp, p->partno + 1, p->fstype, strna(p->mount), p->fstype,
                                      esp, startswith(p->fstype, "ext") ? "ext2" : p->fstype);
                say(d, "%s/EFI/systemd/drivers/ has a driver for the %s XBOOTLDR", esp, p->fstype);
        }
        return 0;
}

/* --- A5: the config that keeps the twin in sync ----------------------------------------- */

static bool on_root_fs(const char *dir)
{
        struct stat a, b;

        return stat("/", &a) == 0 && stat(dir, &b) == 0 && S_ISDIR(b.st_mode) &&
               a.st_dev == b.st_dev;
}

/* The loader entry directories of the booted disk (ESP, XBOOTLDR or /boot): swap_ids. */
static char **entry_dirs(struct ad *d)
{
        _cleanup_strv_free_ char **l = NULL;
        const char *roots[3] = { d->m->booted.mount, "/boot", NULL };

        if (strv_extend(&l, fstab_path()) < 0)
                return NULL;
        for (size_t i = 0; i < d->n_tw; i++)
                if (d->tw[i].xbootldr && d->tw[i].mount && !streq(d->tw[i].mount, "/boot"))
                        roots[2] = d->tw[i].mount;
        /* the other files the manual's layout has naming the root (§5b W8), where they are */
        static const char *const files[] = { "/etc/crypttab", "/etc/kernel/cmdline",
                                             "/etc/initramfs-tools/conf.d/resume",
                                             "/boot/grub/grub.cfg" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (access(files[i], F_OK) == 0 && strv_extend(&l, files[i]) < 0)
                        return NULL;
        for (size_t i = 0; i < ELEMENTSOF(roots); i++) {
                _cleanup_free_ char *p = NULL;

                if (!roots[i])
                        continue;
                if (asprintf(&p, "%s/loader/entries/", roots[i]) < 0)
                        return NULL;
                if (access(p, F_OK) == 0 && !strv_contains(l, p) && strv_push(&l, TAKE_PTR(p)) < 0)
                        return NULL;
        }
        return TAKE_PTR(l);
}

/* The trees the twin needs items for: each mounted filesystem of the booted disk but the ESP
 * and swap, and /etc and /usr when they are directories of the root (the manual's list). */
static int wanted_items(struct ad *d, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;

        for (size_t i = 0; i < d->n_tw; i++)
                if (d->tw[i].target && !streq(d->tw[i].mount, "/") &&
                    strv_extend(&l, d->tw[i].mount) < 0)
                        return -ENOMEM;
        if (on_root_fs("/etc") && !strv_contains(l, "/etc") && strv_extend(&l, "/etc") < 0)
                return -ENOMEM;
        if (on_root_fs("/usr") && !strv_contains(l, "/usr") && strv_extend(&l, "/usr") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static const char *const sys_excludes[] = { "/dev/*", "/proc/*", "/sys/*",
                                            "/run/*", "/tmp/*",  "/mnt/*" };

static bool under(const char *path, const char *dir)
{
        const char *s = startswith(path, dir);

        return s && (*s == 0 || *s == '/' || streq(dir, "/"));
}

/* path as an rsync pattern matching it only: wildcards escaped (rsync takes a backslash as
 * an escape only in a pattern holding a wildcard). */
static char *rsync_literal(const char *path)
{
        char *r = malloc(strlen(path) * 2 + 1), *o = r;

        if (!r)
                return NULL;
        if (!strpbrk(path, "*?["))
                return strcpy(r, path);
        for (const char *s = path; *s; s++) {
                if (strchr("*?[\\", *s))
                        *o++ = '\\';
                *o++ = *s;
        }
        *o = 0;
        return r;
}

/*
 * A5: the active swap files (/proc/swaps, type file) in the trees the twin's items copy, as
 * pairs in one vector: the item's source ("/" or one of items), then the pattern excluding
 * the file, anchored at that item's transfer root. A swap file is a live device's backing
 * store: copied, it is gigabytes of another machine's memory, and never the same twice. One
 * under a directory the "/" item excludes already (/tmp, /mnt...) or on no copied tree
 * needs nothing.
 */
static int swap_excludes(struct ad *d, char *const *items, char ***ret, char **why)
{
        _cleanup_strv_free_ char **files = NULL, **l = NULL;
        int r;

        r = procswaps_files(&files, why);
        if (r < 0)
                return r;
        STRV_FOREACH(f, files)
        {
                const char *owner = "/";
                _cleanup_free_ char *pat = NULL;
                struct stat fst, ost;
                bool skip = false;

                STRV_FOREACH(i, items)
                if (under(*f, *i) && strlen(*i) > strlen(owner))
                        owner = *i;
                if (streq(owner, "/")) {
                        for (size_t k = 0; k < ELEMENTSOF(sys_excludes); k++)
                                /* the pattern "/dev/ANY" excludes what starts with "/dev/" */
                                skip = skip || strncmp(*f, sys_excludes[k],
                                                       strlen(sys_excludes[k]) - 1) == 0;
                        skip = skip || (d->m->booted.mount && under(*f, d->m->booted.mount)) ||
                               under(*f, d->alt_root);
                }
                /* on another filesystem than its item's tree: the item's rsync -x stays off it */
                skip = skip || stat(*f, &fst) < 0 || stat(owner, &ost) < 0 ||
                       fst.st_dev != ost.st_dev;
                if (skip)
                        continue;
                pat = rsync_literal(streq(owner, "/") ? *f : *f + strlen(owner));
                if (!pat || strv_extend(&l, owner) < 0 || strv_push(&l, pat) < 0)
                        return -ENOMEM;
                pat = NULL; /* l holds it */
                say(d, "%s is an active swap file: the %s item excludes it (%s)", *f, owner,
                    l[strv_length(l) - 1]);
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* The patterns of pairs (swap_excludes()) whose item is owner. */
static int excludes_of(char *const *pairs, const char *owner, char ***l)
{
        for (size_t k = 0; pairs && pairs[k] && pairs[k + 1]; k += 2)
                if (streq(pairs[k], owner) && strv_extend(l, pairs[k + 1]) < 0)
                        return -ENOMEM;
        return 0;
}

/* The "/" item's exclusions: every other item's tree, the ESP's mount point, the system's
 * own and scratch directories' contents (the directories stay: the twin mounts on them), the
 * active swap files on the root's tree. */
static int root_excludes(struct ad *d, char *const *items, char *const *swaps, char ***ret)
{
        const char *const *sys = sys_excludes;
        _cleanup_strv_free_ char **l = NULL;

        STRV_FOREACH(i, items)
        if (strv_extendf(&l, "%s/", *i) < 0)
                return -ENOMEM;
        if (d->m->booted.mount && strv_extendf(&l, "%s/", d->m->booted.mount) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(sys_excludes); i++)
                if (strv_extend(&l, sys[i]) < 0)
                        return -ENOMEM;
        if (excludes_of(swaps, "/", &l) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* s in a TOML basic string: '"' and '\\' escaped (a swap file's escaped wildcard). */
static char *toml_escaped(const char *s)
{
        char *r = malloc(strlen(s) * 2 + 1), *o = r;

        if (!r)
                return NULL;
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        *o++ = '\\';
                *o++ = *s;
        }
        *o = 0;
        return r;
}

static char *quoted_list(char *const *l)
{
        _cleanup_free_ char *s = strdup("[");

        STRV_FOREACH(p, l)
        {
                char *n;

                _cleanup_free_ char *q = toml_escaped(*p);

                if (!s || !q || asprintf(&n, "%s%s\"%s\"", s, p == l ? "" : ", ", q) < 0)
                        return NULL;
                free(s);
                s = n;
        }
        if (s) {
                char *n;

                if (asprintf(&n, "%s]", s) < 0)
                        return NULL;
                free(s);
                s = n;
        }
        return TAKE_PTR(s);
}

/* The approach-2 part of the config, as text to paste (A5). */
static char *wanted_config(struct ad *d, char *const *items, char *const *excl, char *const *ids,
                           char *const *swaps)
{
        _cleanup_free_ char *esp = NULL, *mounts = NULL, *ex = NULL, *sid = NULL, *body = NULL;
        _cleanup_strv_free_ char **em = NULL;
        char *r;

        esp = under_alt(d->alt_root, d->m->booted.mount);
        if (!esp || strv_extend(&em, d->m->booted.mount) < 0 || strv_extend(&em, esp) < 0)
                return NULL;
        mounts = quoted_list(em);
        ex = quoted_list(excl);
        sid = quoted_list(ids);
        body = strdup("");
        if (!mounts || !ex || !sid || !body)
                return NULL;
        STRV_FOREACH(i, items)
        {
                _cleanup_strv_free_ char **x = NULL;
                _cleanup_free_ char *xl = NULL;
                char *n;

                if (excludes_of(swaps, *i, &x) < 0 || (x && !(xl = quoted_list(x))))
                        return NULL;
                if (asprintf(&n, "%s        [\"%s/\", \"%s%s/\"%s%s],\n", body, *i, d->alt_root, *i,
                             xl ? ", " : "", xl ? xl : "") < 0)
                        return NULL;
                free(body);
                body = n;
        }
        if (asprintf(&r,
                     "esp_mounts = %s\nsync = [\n%s        [\"/\", \"%s/\", %s],\n]\nswap_ids = %s",
                     mounts, body, d->alt_root, ex, sid) < 0)
                return NULL;
        return r;
}

static bool has_item(const struct config *c, const char *src, const char *dest)
{
        for (size_t i = 0; i < c->n_items; i++)
                if (same_path(c->items[i].source, src))
                        STRV_FOREACH(x, c->items[i].dests)
        if (same_path(*x, dest))
                return true;
        return false;
}

/* The item src -> dest excludes pattern exactly. */
static bool item_excludes(const struct config *c, const char *src, const char *dest,
                          const char *pattern)
{
        for (size_t i = 0; i < c->n_items; i++)
                if (same_path(c->items[i].source, src)) {
                        bool here = false;

                        STRV_FOREACH(x, c->items[i].dests)
                        here = here || same_path(*x, dest);
                        if (here && strv_contains(c->items[i].excludes, pattern))
                                return true;
                }
        return false;
}

static int check_config(struct ad *d, char **why)
{
        const struct config *c = d->a->config;
        _cleanup_strv_free_ char **items = NULL, **excl = NULL, **ids = NULL, **missing = NULL,
                                 **swaps = NULL;
        _cleanup_free_ char *esp = NULL, *text = NULL, *list = NULL;
        bool root_item = false, mnt_excluded = false;
        int r;

        r = wanted_items(d, &items);
        if (r < 0)
                return r;
        r = swap_excludes(d, items, &swaps, why);
        if (r < 0)
                return r;
        r = root_excludes(d, items, swaps, &excl);
        if (r < 0)
                return r;
        ids = entry_dirs(d);
        esp = under_alt(d->alt_root, d->m->booted.mount);
        if (!ids || !esp)
                return -ENOMEM;

        if (!strv_contains(c->esp_mounts, d->m->booted.mount) || !strv_contains(c->esp_mounts, esp))
                if (strv_extendf(&missing, "esp_mounts naming %s and %s", d->m->booted.mount, esp) <
                    0)
                        return -ENOMEM;
        STRV_FOREACH(i, items)
        {
                _cleanup_free_ char *dest = under_alt(d->alt_root, *i);

                if (!dest)
                        return -ENOMEM;
                if (!has_item(c, *i, dest) &&
                    strv_extendf(&missing, "a sync item %s/ -> %s/", *i, dest) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_items; i++)
                if (same_path(c->items[i].source, "/")) {
                        STRV_FOREACH(x, c->items[i].dests)
                        if (same_path(*x, d->alt_root))
                                root_item = true;
                        STRV_FOREACH(x, c->items[i].excludes)
                        if (startswith(*x, "/mnt"))
                                mnt_excluded = true;
                }
        if (!root_item && strv_extendf(&missing, "a sync item / -> %s/", d->alt_root) < 0)
                return -ENOMEM;
        if (root_item && !mnt_excluded &&
            strv_extend(&missing, "the \"/\" item's exclusion of /mnt/* (the twin's own mount)") <
                    0)
                return -ENOMEM;
        for (size_t k = 0; swaps && swaps[k] && swaps[k + 1]; k += 2) {
                _cleanup_free_ char *dest = under_alt(d->alt_root, swaps[k]);

                if (!dest)
                        return -ENOMEM;
                if (has_item(c, swaps[k], dest) &&
                    !item_excludes(c, swaps[k], dest, swaps[k + 1]) &&
                    strv_extendf(&missing, "the %s item's exclusion of %s (an active swap file)",
                                 swaps[k], swaps[k + 1]) < 0)
                        return -ENOMEM;
        }
        STRV_FOREACH(x, ids)
        if (!strv_contains(c->swap_ids, *x) && strv_extendf(&missing, "%s in swap_ids", *x) < 0)
                return -ENOMEM;
        if (strv_length(missing) == 0) {
                say(d,
                    "the config %s keeps the twin in sync: esp_mounts, sync and swap_ids as "
                    "§12b A5 asks",
                    strna(c->path));
                return 0;
        }
        text = wanted_config(d, items, excl, ids, swaps);
        list = strv_join(missing, "; ");
        if (!text || !list)
                return -ENOMEM;
        return errmsg(why, -EINVAL,
                      "the config %s does not keep the twin in sync: it lacks %s. Set there "
                      "(these keys; keep your other settings):\n%s\nthen run the same command "
                      "again",
                      c->path ? c->path : CONFIG_DEFAULT_PATH, list, text);
}

/* --- step 1: the plan -------------------------------------------------------------------- */

int twin_plan(struct ad *d, struct libmnt_table *t, char **why)
{
        struct disk_part_dev *parts = NULL;
        size_t n_parts = 0;
        int r;

        d->twin = true;
        d->alt_root = strdup(d->a->config->alt_root ? d->a->config->alt_root : DEFAULT_ALT_ROOT);
        if (!d->alt_root)
                return -ENOMEM;
        r = disk_part_devs(d->boot_disk_name, &parts, &n_parts);
        if (r < 0)
                return errmsg(why, r, "cannot list the partitions of %s: %s", d->boot_disk,
                              strerror(-r));
        d->tw = calloc(d->boot.n, sizeof(*d->tw));
        if (!d->tw) {
                disk_part_devs_free(parts, n_parts);
                return -ENOMEM;
        }
        say(d,
            "approach 2: the root is neither btrfs nor on md, so %s becomes the twin of %s: "
            "each partition's filesystem made like its counterpart, mounted under %s "
            "(DESIGN.md §12b)",
            d->disk, d->boot_disk, d->alt_root);
        for (size_t i = 0; i < d->boot.n; i++) {
                const struct gpt_part *bp = &d->boot.parts[i];
                const struct disk_part_dev *pd = NULL;
                _cleanup_free_ char *node = NULL;
                struct blockdev_probe pr = {};
                struct twin_part *tp;

                if (bp->partno == d->esp_partno)
                        continue;
                for (size_t k = 0; k < n_parts; k++)
                        if (parts[k].start * 512 == bp->start * d->boot.sector_size)
                                pd = &parts[k];
                if (!pd) {
                        r = errmsg(why, -ENODEV,
                                   "partition %zu of the booted disk %s has no device",
                                   bp->partno + 1, d->boot_disk);
                        goto out;
                }
                if (asprintf(&node, "/dev/%s", pd->name) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                r = blockdev_probe(node, NULL, &pr);
                if (r == -ENODATA) {
                        say(d, "partition %zu (%s): no filesystem, left blank on the twin",
                            bp->partno + 1, node);
                        continue;
                }
                if (r < 0) {
                        r = errmsg(why, r, "cannot probe %s (partition %zu of %s): %s", node,
                                   bp->partno + 1, d->boot_disk, strerror(-r));
                        goto out;
                }
                if (maker_of(pr.fstype) < 0) {
                        say(d,
                            "partition %zu (%s): %s, which --add-disk does not make (ext2/3/4, "
                            "xfs, btrfs, vfat, swap): left blank on the twin",
                            bp->partno + 1, node, strna(pr.fstype));
                        blockdev_probe_done(&pr);
                        continue;
                }
                tp = &d->tw[d->n_tw++];
                tp->partno = bp->partno;
                tp->fstype = TAKE_PTR(pr.fstype);
                tp->label = TAKE_PTR(pr.label);
                blockdev_probe_done(&pr);
                tp->xbootldr = strcasecmp(bp->type, GPT_TYPE_XBOOTLDR) == 0;
                tp->new_label = twin_label(tp->label, d->alt_root);
                if (tp->label && !tp->new_label) {
                        r = -ENOMEM;
                        goto out;
                }
                if (!streq(tp->fstype, "swap")) {
                        tp->mount = mount_of(t, pd->devnum);
                        if (tp->mount && !(tp->target = under_alt(d->alt_root, tp->mount))) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
                say(d, "partition %zu: %s%s%s%s%s on %s -> the twin's: %s%s%s%s on %s",
                    bp->partno + 1, tp->xbootldr ? "XBOOTLDR, " : "", tp->fstype,
                    tp->label ? " '" : "", str_empty(tp->label), tp->label ? "'" : "",
                    tp->mount                   ? tp->mount
                    : streq(tp->fstype, "swap") ? "swap"
                                                : "nothing",
                    tp->fstype, tp->new_label ? " '" : "", str_empty(tp->new_label),
                    tp->new_label ? "'" : "",
                    tp->target ? tp->target
                    : streq(tp->fstype, "swap")
                            ? "swap (in the twin's own fstab, swapped: no line here)"
                            : "nothing (not mounted here either)");
        }
        {
                bool have_root = false;

                for (size_t i = 0; i < d->n_tw; i++)
                        have_root = have_root || streq_ptr(d->tw[i].mount, "/");
                if (!have_root) {
                        r = errmsg(why, -ENOENT,
                                   "the root filesystem is not on a partition of the booted disk "
                                   "%s that --add-disk can make: no twin",
                                   d->boot_disk);
                        goto out;
                }
        }
        /* Say what becomes of the ESP and of /boot (the installer's /boot/efi layout). */
        {
                _cleanup_free_ char *esp = under_alt(d->alt_root, d->m->booted.mount);
                bool boot_part = false;

                for (size_t i = 0; i < d->n_tw; i++)
                        boot_part = boot_part || streq_ptr(d->tw[i].mount, "/boot");
                if (!esp) {
                        r = -ENOMEM;
                        goto out;
                }
                say(d,
                    "the ESPs: the booted one stays on %s; the twin's is mounted on %s here, and "
                    "on %s when the twin is booted (its fstab, swapped)",
                    d->m->booted.mount, esp, d->m->booted.mount);
                say(d,
                    "/boot: %s; nothing is bound on /boot (approach 1's bind of the ESP is not "
                    "used: do not enable bind-mount-efi.service)",
                    boot_part ? "a partition of each disk, synced as its own item"
                              : "a directory of each disk's root, synced with it");
        }
        r = twin_check_driver(d, d->m->booted.mount, why);
        if (r < 0)
                goto out;
        r = check_config(d, why);
out:
        disk_part_devs_free(parts, n_parts);
        return r;
}

/* --- step 4: the filesystems and their mounts ------------------------------------------- */

static int depth_cmp(const void *a, const void *b)
{
        const struct twin_part *x = a, *y = b;
        size_t nx = x->target ? strlen(x->target) : SIZE_MAX,
               ny = y->target ? strlen(y->target) : SIZE_MAX;

        return nx < ny ? -1 : nx > ny ? 1 : 0;
}

int mkdir_under(const char *path)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                return negative_errno();
                        *s = '/';
                }
        return mkdir(p, 0755) < 0 && errno != EEXIST ? negative_errno() : 0;
}

/* The booted disk's partition partno as a device node ("/dev/vda3"). */
static int booted_node(struct ad *d, size_t partno, char **ret, char **why)
{
        struct disk_part_dev *parts = NULL;
        size_t n_parts = 0;
        int r;

        r = disk_part_devs(d->boot_disk_name, &parts, &n_parts);
        if (r < 0)
                return errmsg(why, r, "cannot list the partitions of %s: %s", d->boot_disk,
                              strerror(-r));
        r = errmsg(why, -ENODEV, "partition %zu of the booted disk %s has no device", partno + 1,
                   d->boot_disk);
        for (size_t i = 0; i < d->boot.n; i++)
                if (d->boot.parts[i].partno == partno)
                        for (size_t k = 0; k < n_parts; k++)
                                if (parts[k].start * 512 ==
                                    d->boot.parts[i].start * d->boot.sector_size) {
                                        r = asprintf(ret, "/dev/%s", parts[k].name) < 0 ? -ENOMEM
                                                                                        : 0;
                                        break;
                                }
        disk_part_devs_free(parts, n_parts);
        return r;
}

/* A2: says the features of the booted filesystem node that are its state, not given to mkfs */
static int say_state(struct ad *d, const char *node, char *const *state)
{
        _cleanup_free_ char *l = NULL;

        if (!state)
                return 0;
        l = strv_join(state, ", ");
        if (!l)
                return -ENOMEM;
        say(d, "%s's features %s are its state, not choices made at mkfs: not given", node, l);
        return 0;
}

/* A2: the mkfs options that make the twin's ext2/3/4, xfs or btrfs like the booted one, read
 * from its superblock: ext2/3/4 its block, inode and cluster sizes and "-O none,FEATURES"
 * (mke2fs's own defaults not added); xfs its sizes and every -m/-i/-n choice explicit; btrfs
 * its sector and node sizes, checksum and -O/-R features with "^F" for a default it lacks.
 * None for the other types. */
static int mkfs_alike(struct ad *d, const struct twin_part *p, char ***ret, char **why)
{
        _cleanup_free_ char *node = NULL;
        int r;

        *ret = NULL;
        if (!startswith(p->fstype, "ext") && !streq(p->fstype, "xfs") && !streq(p->fstype, "btrfs"))
                return 0;
        r = booted_node(d, p->partno, &node, why);
        if (r < 0)
                return r;
        if (streq(p->fstype, "xfs")) {
                _cleanup_(xfs_params_done) struct xfs_params x = {};

                r = xfs_params_read(node, &x, why);
                if (r >= 0)
                        r = say_state(d, node, x.state);
                if (r >= 0)
                        r = xfs_params_mkfs_args(&x, ret);
        } else if (streq(p->fstype, "btrfs")) {
                _cleanup_(btrfs_params_done) struct btrfs_params b = {};

                r = btrfs_params_read(node, &b, why);
                if (r >= 0)
                        r = say_state(d, node, b.state);
                if (r >= 0)
                        r = btrfs_params_mkfs_args(&b, ret);
        } else {
                _cleanup_(e2fs_params_done) struct e2fs_params e = {};

                r = e2fs_params_read(node, &e, why);
                if (r >= 0)
                        r = say_state(d, node, e.state);
                if (r >= 0)
                        r = e2fs_params_mkfs_args(&e, ret);
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return errmsg_prefix(why, r,
                                     "cannot make partition %zu's %s like its twin's (partition "
                                     "%zu of %s)",
                                     p->partno + 1, p->fstype, p->partno + 1, d->boot_disk);
        return 0;
}

static int twin_part_fs(struct ad *d, struct twin_part *p, const struct gpt_part *np, char **why)
{
        const char *dev = p->dev;
        _cleanup_free_ char *ph = NULL;
        struct blockdev_probe pr = {};
        int m = maker_of(p->fstype), r;

        if (!dev) {
                if (asprintf(&ph, "<partition %zu of the new disk>", np->partno + 1) < 0)
                        return -ENOMEM;
                dev = ph;
        } else {
                r = blockdev_probe(dev, p->fstype, &pr);
                if (r == 0 && streq_ptr(pr.fstype, p->fstype)) {
                        say(d, "kept: %s already holds %s%s%s%s (UUID %s)", dev, pr.fstype,
                            pr.label ? " '" : "", str_empty(pr.label), pr.label ? "'" : "",
                            strna(pr.uuid));
                        p->uuid = TAKE_PTR(pr.uuid);
                        blockdev_probe_done(&pr);
                        return 0;
                }
                if (r == 0) {
                        /* step 2 erased the partition: this is not ours */
                        r = errmsg(why, -EEXIST, "%s holds %s, not %s like its twin", dev,
                                   strna(pr.fstype), p->fstype);
                        blockdev_probe_done(&pr);
                        return r;
                }
                if (r != -ENODATA)
                        return errmsg(why, r, "cannot probe %s: %s", dev, strerror(-r));
        }
        {
                /* prog [-F 32] [the twin's choices] [-L label] dev */
                _cleanup_strv_free_ char **argv = NULL, **alike = NULL;

                r = mkfs_alike(d, p, &alike, why);
                if (r < 0)
                        return r;
                if (strv_extend(&argv, makers[m].prog) < 0 ||
                    (streq(p->fstype, "vfat") &&
                     (strv_extend(&argv, "-F") < 0 || strv_extend(&argv, "32") < 0)) ||
                    strv_extend_strv(&argv, alike) < 0 ||
                    (p->new_label && (strv_extend(&argv, makers[m].label_opt) < 0 ||
                                      strv_extend(&argv, p->new_label) < 0)) ||
                    strv_extend(&argv, dev) < 0)
                        return -ENOMEM;
                r = run_or_show(d, argv, why);
                if (r < 0 || d->a->test)
                        return r;
        }
        /* A4: the line names the filesystem by the UUID mkfs gave it */
        r = blockdev_probe(dev, p->fstype, &pr);
        if (r < 0 || !streq_ptr(pr.fstype, p->fstype) || !pr.uuid) {
                blockdev_probe_done(&pr);
                return errmsg(why, r < 0 ? r : -EIO, "%s holds no %s with a UUID after %s", dev,
                              p->fstype, makers[m].prog);
        }
        p->uuid = TAKE_PTR(pr.uuid);
        blockdev_probe_done(&pr);
        return 0;
}

/* A4: fstab gets line for the filesystem uuid on target, unless a line mounts it there (0);
 * 1 added (test: would be); -EEXIST when it is mounted elsewhere or target holds another. */
static int add_uuid_line(const char *path, const char *uuid, const char *target, const char *line,
                         bool test, char **why)
{
        _cleanup_free_ char *text = NULL, *new_text = NULL;
        int r;

        r = read_full_file(path, 1024 * 1024, &text, NULL);
        if (r == -ENOENT)
                text = strdup("");
        else if (r < 0)
                return errmsg(why, r, "cannot read %s: %s", path, strerror(-r));
        if (!text)
                return -ENOMEM;
        if (uuid) {
                _cleanup_free_ char *where = NULL;

                r = fstab_text_find_tagged(text, "UUID=", uuid, &where);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if (fstab_same_target(where, target))
                                return 0;
                        return errmsg(why, -EEXIST, "%s already mounts UUID=%s on %s, not %s", path,
                                      uuid, where, target);
                }
        }
        if (fstab_text_has_target(text, target))
                return errmsg(why, -EEXIST, "%s already mounts something else on %s", path, target);
        if (test)
                return 1;
        new_text = fstab_text_append(text, line);
        if (!new_text)
                return -ENOMEM;
        r = fstab_write_atomic(path, new_text, why);
        return r < 0 ? r : 1;
}

static int twin_part_mount(struct ad *d, struct libmnt_table *t, struct twin_part *p,
                           const struct gpt_part *np, char **why)
{
        const char *fstab = fstab_path();
        _cleanup_free_ char *line = NULL;
        struct libmnt_fs *fs;
        int r;

        (void)np;
        if (asprintf(&line, "UUID=%s %s %s " TWIN_MOUNT_OPTIONS " 0 %d",
                     p->uuid ? p->uuid : "<the new filesystem's>", p->target, p->fstype,
                     streq(p->mount, "/") ? 1 : 2) < 0)
                return -ENOMEM;
        r = add_uuid_line(fstab, p->uuid, p->target, line, d->a->test, why);
        if (r < 0)
                return r;
        if (r == 0)
                say(d, "kept: %s already mounts UUID=%s on %s", fstab, p->uuid, p->target);
        else
                say(d, "%s %s: %s (previous version kept as %s" FSTAB_BACKUP_SUFFIX ")",
                    d->a->test ? "would add to" : "added to", fstab, line, fstab);
        fs = mounts_find_target(t, p->target);
        if (fs) {
                struct stat st;

                if (!p->dev || stat(p->dev, &st) < 0 || !mounts_dev(fs, st.st_rdev))
                        return errmsg(why, -EBUSY, "%s holds %s, not the twin's %s", p->target,
                                      strna(mnt_fs_get_source(fs)), strna(p->dev));
                say(d, "kept: %s is mounted on %s", p->dev, p->target);
                return 0;
        }
        if (d->a->test) {
                say(d, "would create %s and mount it as %s says", p->target, fstab);
                return 0;
        }
        r = mkdir_under(p->target);
        if (r < 0)
                return errmsg(why, r, "cannot create %s: %s", p->target, strerror(-r));
        r = mount_from_fstab(fstab, p->target, why);
        if (r < 0)
                return r;
        say(d, "mounted %s on %s", p->dev, p->target);
        return 0;
}

int twin_filesystems(struct ad *d, struct libmnt_table *t, char **why)
{
        int r;

        /* A4: a mount point's parent first ("/mnt/root1" before "/mnt/root1/boot"), the ESP
         * (mounted by the caller, next) last. */
        qsort(d->tw, d->n_tw, sizeof(*d->tw), depth_cmp);
        for (size_t i = 0; i < d->n_tw; i++) {
                struct twin_part *p = &d->tw[i];
                const struct gpt_part *np = gpt_layout_find_partno(&d->layout, p->partno);

                if (!np)
                        return errmsg(why, -ENOENT, "the new disk's layout has no partition %zu",
                                      p->partno + 1);
                if (!p->dev) {
                        r = partition_node(d, np, &p->dev);
                        if (r < 0 && !d->a->test)
                                return errmsg(why, r, "partition %zu of %s (PARTUUID %s): %s/%s %s",
                                              np->partno + 1, d->disk, np->uuid, BY_PARTUUID_DIR,
                                              np->uuid,
                                              r == -ENOENT ? "does not exist (has the kernel "
                                                             "re-read the table? partprobe, "
                                                             "then run again)"
                                                           : "is not this disk's partition");
                }
                r = twin_part_fs(d, p, np, why);
                if (r < 0)
                        return r;
                if (p->target) {
                        r = twin_part_mount(d, t, p, np, why);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Step 1 of a run to continue: target is the alternate root or below it (A4): where an earlier
 * run mounted the twin's filesystems. */
bool twin_mounted_here(const struct ad *d, const char *target)
{
        const char *alt = d->a->config->alt_root ? d->a->config->alt_root : DEFAULT_ALT_ROOT;
        const char *s = startswith(target, alt);

        return s && (*s == 0 || *s == '/');
}

/* --- step 7: the first copy --------------------------------------------------------------- */

/* A7: a destination the root's item does not make (its tree is another item's, excluded
 * there) is made like its source: mode and owner. */
static int make_dest(const char *source, const char *dest, char **why)
{
        struct stat st;

        if (access(dest, F_OK) == 0)
                return 0;
        if (stat(source, &st) < 0)
                return errmsg(why, negative_errno(), "cannot stat %s: %m", source);
        if (mkdir(dest, st.st_mode & 07777) < 0)
                return errmsg(why, negative_errno(), "cannot create %s: %m", dest);
        if (chown(dest, st.st_uid, st.st_gid) < 0 || chmod(dest, st.st_mode & 07777) < 0)
                return errmsg(why, negative_errno(), "cannot give %s the owner and mode of %s: %m",
                              dest, source);
        return 0;
}

int twin_first_copy(struct ad *d, char **why)
{
        _cleanup_mnt_table_ struct libmnt_table *t = NULL, *fstab = NULL;
        _cleanup_esp_model_ struct esp_model *m = NULL;
        struct sync_plan plan = {};
        sigset_t mask, old;
        size_t copied = 0;
        int r;

        r = load_model(d->a->config, &t, &m, why);
        if (r < 0)
                return r;
        if (d->a->test && !mounts_find_target(t, d->alt_root)) {
                for (size_t i = 0; i < d->a->config->n_items; i++)
                        STRV_FOREACH(x, d->a->config->items[i].dests)
                if (under(*x, d->alt_root))
                        say(d,
                            "would copy %s -> %s (the normal sync: guard records, crash-safe; "
                            "progress on stderr)",
                            d->a->config->items[i].source, *x);
                return 0;
        }
        if (!d->a->test) {
                r = twin_check_driver(d, d->esp_mount, why);
                if (r < 0)
                        return r;
        }
        r = ad_sync_plan(d, m, t, &fstab, &plan, why);
        if (r < 0)
                return r;

        struct sync_context ctx = {
                .config = d->a->config,
                .model = m,
                .mounts = t,
                .fstab = fstab,
                .test = d->a->test,
                /* A7: an hour's copy says how far it is (bytes, files, rate, time left) */
                .progress = !d->out                 ? RSYNC_PROGRESS_NONE
                            : isatty(STDERR_FILENO) ? RSYNC_PROGRESS_TTY
                                                    : RSYNC_PROGRESS_LOG,
        };

        rsync_wait_signals(&mask);
        if (sigprocmask(SIG_BLOCK, &mask, &old) < 0) {
                sync_plan_done(&plan);
                return errmsg(why, negative_errno(), "cannot block signals: %m");
        }
        r = 0;
        /* the root's item first, then those of the trees on it and below it */
        for (size_t k = 0; k < 2 * plan.n_jobs && r == 0; k++) {
                struct sync_job *job = &plan.jobs[k % plan.n_jobs];
                struct sync_plan one = { .jobs = job, .n_jobs = 1 };

                if (sync_job_is_esp(job) || !job->dest || !under(job->dest, d->alt_root) ||
                    same_path(job->dest, d->alt_root) != (k < plan.n_jobs))
                        continue;
                if (!d->a->test) {
                        r = make_dest(job->source, job->dest, why);
                        if (r < 0)
                                break;
                }
                say(d, "%s %s -> %s", d->a->test ? "testing" : "copying", strna(job->source),
                    job->dest);
                (void)sync_plan_run(&ctx, &one, NULL, NULL, NULL);
                if (job->state == SYNC_DONE || job->state == SYNC_TESTED) {
                        say(d, "%s %s -> %s (%.2fs)", job->state == SYNC_DONE ? "copied" : "tested",
                            job->source, job->dest, (double)job->duration / USEC_PER_SEC);
                        copied++;
                } else {
                        r = errmsg(why, -EIO, "%s %s -> %s: %s", sync_state_to_string(job->state),
                                   strna(job->source), job->dest, strna(job->why));
                }
        }
        (void)sigprocmask(SIG_SETMASK, &old, NULL);
        sync_plan_done(&plan);
        if (r == 0 && copied == 0)
                return errmsg(why, -ENOENT, "no sync item copies into %s (see step 1)",
                              d->alt_root);
        return r;
}

/* --- A8: a distribution's ESP on /boot/efi ------------------------------------------------ */

char *adddisk_esp_hint(const struct esp_model *m, const struct config *c, const char *device)
{
        const char *alt = c && c->alt_root ? c->alt_root : DEFAULT_ALT_ROOT;
        const char *on = NULL;
        char *r;

        if (!m->boot_ok || !m->device_ok || m->booted.mount)
                return NULL;
        STRV_FOREACH(p, m->booted.mounts)
        if (!on || strlen(*p) < strlen(on))
                on = *p;
        if (!on)
                return NULL;
        if (asprintf(&r,
                     "it is mounted on %s, which the config does not name. To keep it there and "
                     "give this machine a second disk as its approach-2 twin (a root per disk), "
                     "set in %s: esp_mounts = [\"%s\", \"%s%s\"], then run: dual-root-tool "
                     "--add-disk %s -t (it prints the sync list and swap_ids to set next)",
                     on, c && c->path ? c->path : CONFIG_DEFAULT_PATH, on, alt, on,
                     device ? device : "DEVICE") < 0)
                return NULL;
        return r;
}
