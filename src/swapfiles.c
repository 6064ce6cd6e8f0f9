/* SPDX-License-Identifier: MIT */
/*
 * swap_ids files of a sync job (DESIGN.md §5b): selection, the map from the block devices,
 * the crash-safe write.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <blkid.h>

#include "blockdev.h"
#include "config.h"
#include "disk.h"
#include "esp.h"
#include "swapfiles.h"
#include "util/errmsg.h"
#include "util/exclude.h"
#include "util/fileio.h"
#include "util/path.h"
#include "util/strv.h"

/* Files that name filesystems are small; anything larger is not one. */
#define SWAP_FILE_MAX (1024 * 1024)

/* ---------------------------------------------------------------------------------------- */
/* Which files */

/* One swap_ids entry as seen from a job. */
struct target {
        char *src; /* the entry on the source, no trailing '/' */
        char *dst; /* where it lands on the destination */
        char *rel; /* relative to the transfer root ("" for the root itself) */
        bool dir;
};

static void target_done(struct target *t)
{
        free(t->src);
        free(t->dst);
        free(t->rel);
        *t = (struct target){};
}

/* True when rel or a directory above it is excluded (rsync does not descend into an
 * excluded directory). */
static bool excluded(char *const *excludes, const char *rel, bool is_dir)
{
        _cleanup_free_ char *p = strdup(rel);

        if (!p)
                return false;
        if (exclude_match(excludes, p, is_dir))
                return true;
        for (char *s = strrchr(p, '/'); s; s = strrchr(p, '/')) {
                *s = 0;
                if (exclude_match(excludes, p, true))
                        return true;
        }
        return false;
}

/* 1 and *t when entry (a swap_ids path, a trailing '/' for a directory) is under the job's
 * source and not excluded, 0 when not, -ENOMEM. */
static int target_of(const char *entry, const char *source, const char *dest, char *const *excludes,
                     struct target *t)
{
        _cleanup_free_ char *base = path_strip_trailing_slashes(source);
        _cleanup_free_ char *p = path_strip_trailing_slashes(entry);
        _cleanup_free_ char *d = path_strip_trailing_slashes(dest);
        bool contents = source[strlen(source) - 1] == '/';
        bool dir = entry[strlen(entry) - 1] == '/';
        const char *rel, *name;
        char *root_rel;

        if (!base || !p || !d)
                return -ENOMEM;
        if (streq(base, "/"))
                rel = streq(p, "/") ? NULL : p + 1;
        else if (streq(p, base))
                rel = dir ? "" : NULL;
        else if (startswith(p, base) && p[strlen(base)] == '/')
                rel = p + strlen(base) + 1;
        else
                rel = NULL;
        if (!rel)
                return 0;
        /* rsync: "/etc" copies the directory itself, so its name leads every path. */
        name = strrchr(base, '/') + 1;
        if (contents || streq(base, "/"))
                root_rel = strdup(rel);
        else if (asprintf(&root_rel, "%s%s%s", name, *rel ? "/" : "", rel) < 0)
                root_rel = NULL;
        if (!root_rel)
                return -ENOMEM;
        if (*root_rel && excluded(excludes, root_rel, dir)) {
                free(root_rel);
                return 0;
        }
        *t = (struct target){ .rel = root_rel, .dir = dir };
        t->src = TAKE_PTR(p);
        if (asprintf(&t->dst, "%s%s%s", streq(d, "/") ? "" : d, *root_rel ? "/" : "", root_rel) <
            0) {
                t->dst = NULL;
                target_done(t);
                return -ENOMEM;
        }
        if (!*root_rel && t->dst[0] == 0) {
                free(t->dst);
                t->dst = strdup("/");
                if (!t->dst) {
                        target_done(t);
                        return -ENOMEM;
                }
        }
        return 1;
}

/* A name in dir_fd matched as FAT matches it: the stored spelling of name, or NULL. */
static char *stored_name(int dir_fd, const char *name)
{
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        char *found = NULL;

        if (!d)
                return NULL;
        fd = -1;
        while (!found && (de = readdir(d)))
                if (strcasecmp(de->d_name, name) == 0)
                        found = strdup(de->d_name);
        closedir(d);
        return found;
}

/* Appends source + rel (a '/'-separated path, each part matched case-insensitively) when it is
 * a regular file there. */
static int add_if_file(char ***l, const char *source, const char *rel)
{
        _cleanup_free_ char *copy = strdup(rel), *path = path_strip_trailing_slashes(source);
        _cleanup_close_ int cur = -1;
        char *save = NULL;
        struct stat st;

        if (!copy || !path)
                return -ENOMEM;
        cur = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return 0;
        for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
                _cleanup_free_ char *name = stored_name(cur, part);
                char *p;
                int next;

                if (!name)
                        return 0;
                if (asprintf(&p, "%s/%s", streq(path, "/") ? "" : path, name) < 0)
                        return -ENOMEM;
                free(path);
                path = p;
                next = openat(cur, name,
                              O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
                                      (save && *save ? O_DIRECTORY : O_NONBLOCK));
                if (next < 0)
                        return 0;
                close(cur);
                cur = next;
        }
        if (fstat(cur, &st) < 0 || !S_ISREG(st.st_mode) || strv_contains(*l, path))
                return 0;
        return strv_extend(l, path);
}

int swapfiles_loader_files(const char *source, char ***ret)
{
        static const char *const fixed[] = {
                "grub/grub.cfg",          "grub2/grub.cfg",         "boot/grub/grub.cfg",
                "boot/grub2/grub.cfg",    "EFI/refind/refind.conf", "refind_linux.conf",
                "boot/refind_linux.conf",
        };
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        int r;

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                if ((r = add_if_file(&l, source, fixed[i])) < 0)
                        return r;
        /* EFI/<distributor>/grub.cfg (the stub) and bootuuid.cfg, for every distributor. */
        {
                _cleanup_free_ char *base = path_strip_trailing_slashes(source);
                int dfd = base ? open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
                _cleanup_free_ char *e = dfd >= 0 ? stored_name(dfd, "EFI") : NULL;
                _cleanup_close_ int efd =
                        e ? openat(dfd, e, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
                DIR *d = NULL;
                struct dirent *de;

                if (dfd >= 0)
                        close(dfd);
                if (!base)
                        return -ENOMEM;
                if (efd >= 0 && (d = fdopendir(efd)))
                        efd = -1;
                while (d && (de = readdir(d))) {
                        static const char *const names[] = { "grub.cfg", "bootuuid.cfg" };

                        if (de->d_name[0] == '.')
                                continue;
                        for (size_t k = 0; k < ELEMENTSOF(names); k++) {
                                _cleanup_free_ char *rel = NULL;

                                if (asprintf(&rel, "%s/%s/%s", e, de->d_name, names[k]) < 0) {
                                        closedir(d);
                                        return -ENOMEM;
                                }
                                if ((r = add_if_file(&l, source, rel)) < 0) {
                                        closedir(d);
                                        return r;
                                }
                        }
                }
                if (d)
                        closedir(d);
        }
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

int swapfiles_job_ids(char *const *swap_ids, const char *source, char ***ret)
{
        _cleanup_strv_free_ char **l = strv_copy(swap_ids), **loader = NULL;
        int r;

        if (!l && swap_ids)
                return -ENOMEM;
        if (source) {
                if ((r = swapfiles_loader_files(source, &loader)) < 0)
                        return r;
                STRV_FOREACH(f, loader)
                if (!strv_contains(l, *f) && (r = strv_extend(&l, *f)) < 0)
                        return r;
        }
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int swapfiles_excludes(char *const *swap_ids, const char *source, char *const *excludes,
                       char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        STRV_FOREACH(e, swap_ids)
        {
                struct target t = {};
                char *pat = NULL, *tmp = NULL;
                int r = source ? target_of(*e, source, "/", excludes, &t) : 0;

                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (t.dir) {
                        if (asprintf(&pat, "/%s%s*", t.rel, *t.rel ? "/" : "") < 0)
                                pat = NULL;
                } else {
                        const char *slash = strrchr(t.rel, '/');
                        int n = slash ? (int)(slash - t.rel) : 0;

                        if (asprintf(&pat, "/%s", t.rel) < 0)
                                pat = NULL;
                        if (asprintf(&tmp, "/%.*s%s" SWAPFILES_TMP, n, t.rel, slash ? "/" : "") < 0)
                                tmp = NULL;
                }
                bool dir = t.dir;

                target_done(&t);
                if (!pat || (!dir && !tmp)) {
                        free(pat);
                        free(tmp);
                        return -ENOMEM;
                }
                if ((!strv_contains(l, pat) && strv_extend(&l, pat) < 0) ||
                    (tmp && !strv_contains(l, tmp) && strv_extend(&l, tmp) < 0)) {
                        free(pat);
                        free(tmp);
                        return -ENOMEM;
                }
                free(pat);
                free(tmp);
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The map */

struct probed {
        dev_t devnum; /* of the block device */
        struct swapids_fs fs;
        char *type; /* libblkid TYPE, NULL when none is recognised */
        dev_t disk; /* the whole disk it is a partition of, or devnum */
};

struct probe_cache {
        struct probed *p;
        size_t n;
};

static void probe_cache_done(struct probe_cache *c)
{
        for (size_t i = 0; i < c->n; i++) {
                swapids_fs_done(&c->p[i].fs);
                free(c->p[i].type);
        }
        free(c->p);
}

/* The block device holding the filesystem path is on: st_dev when it is one, else (btrfs
 * and other filesystems with anonymous device numbers) the mount table's source device. */
static int block_devnum_of(struct libmnt_table *mounts, const char *path, dev_t *ret, char **why)
{
        struct libmnt_fs *fs;
        struct stat st, bst;
        const char *src;

        if (stat(path, &st) < 0)
                return errmsg(why, negative_errno(), "cannot stat '%s': %m", path);
        if (disk_known(st.st_dev)) {
                *ret = st.st_dev;
                return 0;
        }
        fs = mounts ? mnt_table_find_mountpoint(mounts, path, MNT_ITER_BACKWARD) : NULL;
        src = fs ? mnt_fs_get_srcpath(fs) : NULL;
        if (!src || stat(src, &bst) < 0 || !S_ISBLK(bst.st_mode))
                return errmsg(why, -ENODEV,
                              "cannot tell which block device holds '%s' (device %u:%u, mounted "
                              "from %s)",
                              path, major(st.st_dev), minor(st.st_dev), src ? src : "nothing");
        *ret = bst.st_rdev;
        return 0;
}

/* A partition's GPT name (PARTLABEL): udev's /dev/disk/by-partlabel link to the device (its
 * \xHH escapes decoded), else libblkid's PART_ENTRY_NAME; NULL when it has none. */
static int partlabel_of(const char *node, dev_t devnum, char **ret)
{
        DIR *d = opendir("/dev/disk/by-partlabel");
        blkid_probe pr;
        const char *v = NULL;
        struct dirent *de;

        *ret = NULL;
        while (d && (de = readdir(d))) {
                struct stat st;
                char *out, *o;

                if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
                    !S_ISBLK(st.st_mode) || st.st_rdev != devnum)
                        continue;
                out = o = strdup(de->d_name);
                if (!out) {
                        closedir(d);
                        return -ENOMEM;
                }
                for (const char *p = de->d_name; *p; p++) {
                        unsigned x;

                        if (p[0] == '\\' && p[1] == 'x' && sscanf(p + 2, "%2x", &x) == 1 &&
                            isxdigit((unsigned char)p[2]) && isxdigit((unsigned char)p[3])) {
                                *o++ = (char)x;
                                p += 3;
                        } else {
                                *o++ = *p;
                        }
                }
                *o = 0;
                closedir(d);
                *ret = out;
                return 0;
        }
        if (d)
                closedir(d);
        pr = blkid_new_probe_from_filename(node);
        if (!pr)
                return 0; /* could not look: no PARTLABEL known, as without a table */
        blkid_probe_enable_superblocks(pr, 0);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        if (blkid_do_safeprobe(pr) == 0 &&
            blkid_probe_lookup_value(pr, "PART_ENTRY_NAME", &v, NULL) >= 0 && !isempty(v)) {
                *ret = strdup(v);
                if (!*ret) {
                        blkid_free_probe(pr);
                        return -ENOMEM;
                }
        }
        blkid_free_probe(pr);
        return 0;
}

static int probe(struct probe_cache *c, dev_t devnum, const char *where, size_t *ret, char **why)
{
        _cleanup_free_ char *node = NULL;
        struct blockdev_probe bp = {};
        struct probed *t, *n;
        int r;

        for (size_t i = 0; i < c->n; i++)
                if (c->p[i].devnum == devnum) {
                        *ret = i;
                        return 0;
                }
        r = disk_node_of(devnum, &node);
        if (r < 0)
                return errmsg(why, r, "cannot find the device node of %u:%u: %s", major(devnum),
                              minor(devnum), strerror(-r));
        t = reallocarray(c->p, c->n + 1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        c->p = t;
        n = &c->p[c->n];
        *n = (struct probed){ .devnum = devnum, .disk = disk_holding(disk_sysfs_root(), devnum) };
        r = blockdev_probe(node, NULL, &bp);
        if (r < 0 && r != -ENODATA)
                return errmsg(why, r, "cannot read the identifiers of %s: %s", node, strerror(-r));
        n->fs.uuid = TAKE_PTR(bp.uuid);
        n->fs.label = TAKE_PTR(bp.label);
        n->type = TAKE_PTR(bp.fstype);
        blockdev_probe_done(&bp);
        r = blockdev_partuuid_of(node, devnum, &n->fs.partuuid);
        if (r < 0 && r != -ENOENT && r != -ENODATA) {
                swapids_fs_done(&n->fs);
                free(n->type);
                return errmsg(why, r, "cannot read the PARTUUID of %s: %s", node, strerror(-r));
        }
        r = partlabel_of(node, devnum, &n->fs.partlabel);
        if (r < 0) {
                swapids_fs_done(&n->fs);
                free(n->type);
                return r;
        }
        if (where)
                r = asprintf(&n->fs.name, "%s (%s)", node, where);
        else
                r = asprintf(&n->fs.name, "%s", node);
        if (r < 0) {
                n->fs.name = NULL;
                swapids_fs_done(&n->fs);
                free(n->type);
                return -ENOMEM;
        }
        *ret = c->n++;
        return 0;
}

/* One partition of a disk: its probe_cache index and its number in the partition table. */
struct probed_part {
        size_t idx;
        unsigned number;
};

/* Every partition of the disk disk (disk_partitions()), probed. */
static int disk_parts(struct probe_cache *c, dev_t disk, struct probed_part **ret, size_t *ret_n,
                      char **why)
{
        _cleanup_free_ struct disk_slot *parts = NULL;
        _cleanup_free_ struct probed_part *l = NULL;
        size_t n = 0;
        int r;

        r = disk_partitions(disk_sysfs_root(), disk, &parts, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
                r = probe(c, parts[k].devnum, NULL, &l[k].idx, why);
                if (r < 0)
                        return r;
                l[k].number = parts[k].number;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

static bool is_paired(size_t idx, const size_t *src_idx, const size_t *dst_idx, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (src_idx[i] == idx || dst_idx[i] == idx)
                        return true;
        return false;
}

/* The partitions of both disks that no sync item pairs: by place, or without a counterpart
 * (swapids_map_add_disks(), DESIGN.md §5b W1). */
static int add_disks(struct swapids_map *map, struct probe_cache *c, dev_t sd, dev_t dd,
                     const size_t *src_idx, const size_t *dst_idx, size_t n_pairs, char **why)
{
        _cleanup_free_ struct probed_part *sl = NULL, *dl = NULL;
        _cleanup_free_ struct swapids_part *sp = NULL, *dp = NULL;
        size_t sn = 0, dn = 0;
        int r;

        r = disk_parts(c, sd, &sl, &sn, why);
        if (r >= 0)
                r = disk_parts(c, dd, &dl, &dn, why);
        if (r < 0)
                return r;
        /* Only now: probing grows the cache and moves its entries. */
        sp = calloc(sn + 1, sizeof(*sp));
        dp = calloc(dn + 1, sizeof(*dp));
        if (!sp || !dp)
                return -ENOMEM;
        for (size_t side = 0; side < 2; side++) {
                const struct probed_part *l = side ? dl : sl;
                struct swapids_part *p = side ? dp : sp;

                for (size_t i = 0; i < (side ? dn : sn); i++)
                        p[i] = (struct swapids_part){
                                .fs = &c->p[l[i].idx].fs,
                                .number = l[i].number,
                                .type = c->p[l[i].idx].type,
                                .paired = is_paired(l[i].idx, src_idx, dst_idx, n_pairs),
                        };
        }
        return swapids_map_add_disks(map, sp, sn, dp, dn, why);
}

struct pair {
        const char *source, *dest;
};

int swapfiles_map_build(const struct config *c, const struct esp_model *m,
                        struct libmnt_table *mounts, struct swapids_map *ret, char **why)
{
        _cleanup_(probe_cache_done) struct probe_cache cache = {};
        _cleanup_free_ struct pair *pairs = NULL;
        _cleanup_free_ size_t *src_idx = NULL, *dst_idx = NULL;
        struct swapids_map map = {};
        size_t n = 0, max = 0;
        int r = 0;

        for (size_t i = 0; i < c->n_items; i++)
                max += strv_length(c->items[i].dests);
        if (c->dualroot && m && m->booted.mount)
                max += m->n_alternates;
        pairs = calloc(max + 1, sizeof(*pairs));
        src_idx = calloc(max + 1, sizeof(size_t));
        dst_idx = calloc(max + 1, sizeof(size_t));
        if (!pairs || !src_idx || !dst_idx)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_items; i++) {
                STRV_FOREACH(d, c->items[i].dests)
                {
                        pairs[n++] = (struct pair){ c->items[i].source, *d };
                }
        }
        if (c->dualroot && m && m->booted.mount)
                for (size_t i = 0; i < m->n_alternates; i++)
                        if (m->alternates[i].mounted)
                                pairs[n++] =
                                        (struct pair){ m->booted.mount, m->alternates[i].mount };

        for (size_t i = 0; i < n; i++) {
                dev_t s, d;

                /* An end not there (a disk missing) pairs nothing; its job is skipped. */
                if (access(pairs[i].source, F_OK) < 0 || access(pairs[i].dest, F_OK) < 0) {
                        src_idx[i] = dst_idx[i] = SIZE_MAX;
                        continue;
                }
                _cleanup_free_ char *w = NULL;

                r = block_devnum_of(mounts, pairs[i].source, &s, &w);
                if (r >= 0)
                        r = block_devnum_of(mounts, pairs[i].dest, &d, &w);
                if (r == -ENODEV) {
                        /* A network or memory filesystem (a backup on NFS): no identifiers
                         * an fstab could name by, and not the alternate disk. */
                        src_idx[i] = dst_idx[i] = SIZE_MAX;
                        r = 0;
                        continue;
                }
                if (r < 0) {
                        errmsg(why, r, "%s", strna(w));
                        goto fail;
                }
                if (s == d) { /* rule 1 refuses the job; no pair */
                        src_idx[i] = dst_idx[i] = SIZE_MAX;
                        continue;
                }
                r = probe(&cache, s, pairs[i].source, &src_idx[i], why);
                if (r >= 0)
                        r = probe(&cache, d, pairs[i].dest, &dst_idx[i], why);
                if (r < 0)
                        goto fail;
                r = swapids_map_add_pair(&map, &cache.p[src_idx[i]].fs, &cache.p[dst_idx[i]].fs,
                                         why);
                if (r < 0)
                        goto fail;
        }
        /* Then the rest of both disks: the swap partition, a /data never synced. */
        for (size_t i = 0; i < n; i++) {
                bool seen = false;

                if (src_idx[i] == SIZE_MAX)
                        continue;
                dev_t sd = cache.p[src_idx[i]].disk, dd = cache.p[dst_idx[i]].disk;

                if (sd == dd)
                        continue; /* two filesystems of one disk: no disk to tell apart */
                for (size_t j = 0; j < i && !seen; j++)
                        seen = src_idx[j] != SIZE_MAX && cache.p[src_idx[j]].disk == sd &&
                               cache.p[dst_idx[j]].disk == dd;
                if (seen)
                        continue; /* these two disks are done */
                r = add_disks(&map, &cache, sd, dd, src_idx, dst_idx, n, why);
                if (r < 0)
                        goto fail;
        }
        *ret = map;
        return 0;
fail:
        swapids_map_done(&map);
        return r;
}

/* ---------------------------------------------------------------------------------------- */
/* The plan */

static void file_done(struct swapfiles_file *f)
{
        free(f->src);
        free(f->dst);
        swapids_result_done(&f->res);
}

void swapfiles_plan_done(struct swapfiles_plan *p)
{
        for (size_t i = 0; i < p->n; i++)
                file_done(&p->files[i]);
        free(p->files);
        *p = (struct swapfiles_plan){};
}

static struct swapfiles_file *plan_add(struct swapfiles_plan *p, const char *src, const char *dst)
{
        struct swapfiles_file *t = reallocarray(p->files, p->n + 1, sizeof(*t)), *f;

        if (!t)
                return NULL;
        p->files = t;
        f = &p->files[p->n];
        *f = (struct swapfiles_file){};
        f->src = strdup(src);
        f->dst = strdup(dst);
        if (!f->src || !f->dst) {
                file_done(f);
                return NULL;
        }
        p->n++;
        return f;
}

/* Reads an open regular file (at most SWAP_FILE_MAX). */
static int read_regular(int fd, const char *path, struct stat *st, char **ret, size_t *ret_size,
                        char **why)
{
        int r;

        if (fstat(fd, st) < 0)
                return errmsg(why, negative_errno(), "cannot stat '%s': %m", path);
        if (!S_ISREG(st->st_mode))
                return errmsg(why, -EINVAL, "'%s' is not a regular file", path);
        r = read_full_fd(fd, SWAP_FILE_MAX, ret, ret_size);
        if (r == -EFBIG)
                return errmsg(why, r,
                              "'%s' is larger than 1 MiB: not a file that names filesystems", path);
        if (r < 0)
                return errmsg(why, r, "cannot read '%s': %s", path, strerror(-r));
        return 0;
}

/* FAT (an ESP) stores no owner and one mode for all files (the mount's umask): neither is
 * compared nor set there. */
static bool on_fat(int fd)
{
        struct statfs sf;

        return fstatfs(fd, &sf) == 0 && sf.f_type == MSDOS_SUPER_MAGIC;
}

/* Whether the destination already holds f (content, mode, owner; the time within FAT's
 * two seconds). */
static int compare_dest(struct swapfiles_file *f, char **why)
{
        /* O_NONBLOCK: a FIFO put there must not hang us; it is refused as not regular. */
        _cleanup_close_ int fd =
                open(f->dst, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size;
        bool fat;
        int r;

        f->exists = false;
        f->same = false;
        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                if (errno == ELOOP)
                        return errmsg(why, -EINVAL, "'%s' is a symbolic link, not a file of ours",
                                      f->dst);
                return errmsg(why, negative_errno(), "cannot open '%s': %m", f->dst);
        }
        r = read_regular(fd, f->dst, &st, &buf, &size, why);
        if (r < 0)
                return r;
        f->exists = true;
        if (f->remove)
                return 0;
        fat = on_fat(fd);
        f->same = size == f->res.size && memcmp(buf, f->res.text, size) == 0 &&
                  (fat || ((st.st_mode & 07777) == (f->st.st_mode & 07777) &&
                           st.st_uid == f->st.st_uid && st.st_gid == f->st.st_gid)) &&
                  llabs((long long)st.st_mtim.tv_sec - (long long)f->st.st_mtim.tv_sec) <= 2;
        return 0;
}

static int plan_file(struct swapfiles_plan *p, const struct swapids_map *map, const char *src,
                     const char *dst, char **why)
{
        _cleanup_close_ int fd =
                open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ char *buf = NULL;
        struct swapfiles_file *f;
        size_t size;
        int r;

        if (fd < 0 && errno == ELOOP)
                return errmsg(why, -EINVAL,
                              "'%s' is a symbolic link: swap_ids takes regular files (name the "
                              "file it points to)",
                              src);
        if (fd < 0 && errno != ENOENT)
                return errmsg(why, negative_errno(), "cannot open '%s': %m", src);
        f = plan_add(p, src, dst);
        if (!f)
                return -ENOMEM;
        if (fd < 0) {
                f->remove = true;
                return compare_dest(f, why);
        }
        r = read_regular(fd, src, &f->st, &buf, &size, why);
        if (r < 0)
                return r;
        r = swapids_rewrite(map, src, buf, size, &f->res, why);
        if (r < 0)
                return r;
        return compare_dest(f, why);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir (regular files only: anything else is an error), sorted. */
static int list_dir(const char *dir, const char *rel, char *const *excludes, bool missing_ok,
                    char ***ret, char **why)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (!l)
                return -ENOMEM;
        d = opendir(dir);
        if (!d) {
                if ((errno == ENOENT || errno == ENOTDIR) && missing_ok) {
                        *ret = TAKE_PTR(l);
                        return 0;
                }
                return errmsg(why, negative_errno(), "cannot read directory '%s': %m", dir);
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    streq(de->d_name, SWAPFILES_TMP))
                        continue;
                if (asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = errmsg(why, negative_errno(), "cannot stat '%s/%s': %m", dir,
                                   de->d_name);
                        break;
                }
                if (exclude_match(excludes, sub, S_ISDIR(st.st_mode)))
                        continue;
                if (!S_ISREG(st.st_mode)) {
                        r = errmsg(why, -EINVAL,
                                   "'%s/%s' is not a regular file: a swap_ids directory holds "
                                   "files only",
                                   dir, de->d_name);
                        break;
                }
                r = strv_extend(&l, de->d_name);
                if (r < 0)
                        break;
        }
        closedir(d);
        if (r < 0)
                return r;
        qsort(l, strv_length(l), sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}

/* A temporary file left by a write that was cut (power loss, SIGKILL): removed. */
static int plan_stale_tmp(struct swapfiles_plan *p, const char *dst_dir)
{
        _cleanup_free_ char *tmp = NULL;
        struct swapfiles_file *f;
        struct stat st;

        if (asprintf(&tmp, "%s/" SWAPFILES_TMP, *dst_dir ? dst_dir : "") < 0)
                return -ENOMEM;
        if (lstat(tmp, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->files[i].dst, tmp))
                        return 0;
        f = plan_add(p, tmp, tmp);
        if (!f)
                return -ENOMEM;
        f->remove = true;
        f->exists = true;
        return 0;
}

static int plan_target(struct swapfiles_plan *p, const struct swapids_map *map,
                       const struct target *t, const char *source, char *const *excludes,
                       char **why)
{
        _cleanup_strv_free_ char **src_names = NULL, **dst_names = NULL;
        _cleanup_free_ char *base = path_strip_trailing_slashes(source);
        struct stat sst, bst;
        int r;

        if (!base)
                return -ENOMEM;
        /* The item on the entry's own filesystem copies it (rsync -x stops at mounts). */
        if (stat(base, &bst) < 0)
                return errmsg(why, negative_errno(), "cannot stat source '%s': %m", source);
        if (!t->dir) {
                _cleanup_free_ char *parent = strdup(t->src);
                char *slash = parent ? strrchr(parent, '/') : NULL;

                if (!parent)
                        return -ENOMEM;
                if (slash)
                        slash[slash == parent ? 1 : 0] = 0;
                if (stat(parent, &sst) == 0 && sst.st_dev != bst.st_dev)
                        return 0;
                if (lstat(t->src, &sst) == 0 && S_ISDIR(sst.st_mode))
                        return errmsg(why, -EINVAL,
                                      "swap_ids names '%s' as a file, but it is a directory "
                                      "(write '%s/' for all its files)",
                                      t->src, t->src);
                r = plan_file(p, map, t->src, t->dst, why);
                if (r >= 0) {
                        _cleanup_free_ char *dd = strdup(t->dst);
                        char *ds = dd ? strrchr(dd, '/') : NULL;

                        if (!ds)
                                return -ENOMEM;
                        *ds = 0;
                        r = plan_stale_tmp(p, dd);
                }
                return r;
        }

        if (lstat(t->src, &sst) == 0) {
                if (!S_ISDIR(sst.st_mode))
                        return errmsg(why, -EINVAL,
                                      "swap_ids names '%s/' as a directory, but it is not one",
                                      t->src);
                if (sst.st_dev != bst.st_dev)
                        return 0;
        }
        r = list_dir(t->src, t->rel, excludes, true, &src_names, why);
        if (r >= 0)
                r = list_dir(t->dst, t->rel, excludes, true, &dst_names, why);
        if (r < 0)
                return r;
        STRV_FOREACH(n, src_names)
        {
                _cleanup_free_ char *s = NULL, *d = NULL;

                if (asprintf(&s, "%s/%s", t->src, *n) < 0 || asprintf(&d, "%s/%s", t->dst, *n) < 0)
                        return -ENOMEM;
                r = plan_file(p, map, s, d, why);
                if (r < 0)
                        return r;
        }
        /* Gone from the source: rsync leaves excluded files alone, so we remove them. */
        STRV_FOREACH(n, dst_names)
        {
                _cleanup_free_ char *s = NULL, *d = NULL;
                struct swapfiles_file *f;

                if (strv_contains(src_names, *n))
                        continue;
                if (asprintf(&s, "%s/%s", t->src, *n) < 0 || asprintf(&d, "%s/%s", t->dst, *n) < 0)
                        return -ENOMEM;
                f = plan_add(p, s, d);
                if (!f)
                        return -ENOMEM;
                f->remove = true;
                f->exists = true;
        }
        return plan_stale_tmp(p, t->dst);
}

int swapfiles_plan(char *const *swap_ids, const char *source, const char *dest,
                   char *const *excludes, const struct swapids_map *map, struct swapfiles_plan *ret,
                   char **why)
{
        struct swapfiles_plan p = {};
        int r = 0;

        STRV_FOREACH(e, swap_ids)
        {
                struct target t = {};

                r = target_of(*e, source, dest, excludes, &t);
                if (r < 0)
                        break;
                if (r == 0)
                        continue;
                r = plan_target(&p, map, &t, source, excludes, why);
                target_done(&t);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                swapfiles_plan_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The write */

static int write_all(int fd, const char *buf, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, buf, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                buf += k;
                n -= (size_t)k;
        }
        return 0;
}

static int write_one(const struct swapfiles_file *f, char **why)
{
        _cleanup_free_ char *dir = strdup(f->dst);
        _cleanup_close_ int dfd = -1, fd = -1;
        const char *name;
        char *slash = dir ? strrchr(dir, '/') : NULL;
        struct timespec ts[2];
        struct stat st;
        bool fat;
        int r;

        if (!slash)
                return -ENOMEM;
        *slash = 0;
        name = slash + 1;
        dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errmsg(why, negative_errno(), "cannot open directory '%s': %m",
                              *dir ? dir : "/");
        if (f->remove) {
                if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                        return errmsg(why, negative_errno(), "cannot remove '%s': %m", f->dst);
                return 0;
        }
        fd = openat(dfd, SWAPFILES_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                    0600);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot create '%s/" SWAPFILES_TMP "': %m",
                              dir);
        r = write_all(fd, f->res.text, f->res.size);
        if (r < 0) {
                errmsg(why, r, "cannot write '%s/" SWAPFILES_TMP "': %s", dir, strerror(-r));
                goto fail;
        }
        if (fstat(fd, &st) < 0) {
                r = errmsg(why, negative_errno(), "cannot stat '%s/" SWAPFILES_TMP "': %m", dir);
                goto fail;
        }
        fat = on_fat(fd);
        if (!fat && (st.st_uid != f->st.st_uid || st.st_gid != f->st.st_gid) &&
            fchown(fd, f->st.st_uid, f->st.st_gid) < 0) {
                r = errmsg(why, negative_errno(), "cannot give '%s' the owner %u:%u of '%s': %m",
                           f->dst, (unsigned)f->st.st_uid, (unsigned)f->st.st_gid, f->src);
                goto fail;
        }
        if (!fat && (st.st_mode & 07777) != (f->st.st_mode & 07777) &&
            fchmod(fd, f->st.st_mode & 07777) < 0) {
                r = errmsg(why, negative_errno(), "cannot give '%s' the mode %04o of '%s': %m",
                           f->dst, (unsigned)(f->st.st_mode & 07777), f->src);
                goto fail;
        }
        ts[0] = f->st.st_atim;
        ts[1] = f->st.st_mtim;
        if (futimens(fd, ts) < 0) {
                r = errmsg(why, negative_errno(), "cannot set the times of '%s': %m", f->dst);
                goto fail;
        }
        /* On the disk before it takes the name: a crash leaves the old file or the new. */
        if (fsync(fd) < 0) {
                r = errmsg(why, negative_errno(), "cannot flush '%s/" SWAPFILES_TMP "': %m", dir);
                goto fail;
        }
        if (renameat(dfd, SWAPFILES_TMP, dfd, name) < 0) {
                r = errmsg(why, negative_errno(),
                           "cannot rename '%s/" SWAPFILES_TMP "' to '%s': %m", dir, f->dst);
                goto fail;
        }
        return 0;
fail:
        (void)unlinkat(dfd, SWAPFILES_TMP, 0);
        return r;
}

int swapfiles_write(const struct swapfiles_plan *p, unsigned *ret_changed, char **why)
{
        unsigned changed = 0;

        for (size_t i = 0; i < p->n; i++) {
                const struct swapfiles_file *f = &p->files[i];
                int r;

                if (f->same || (f->remove && !f->exists))
                        continue;
                r = write_one(f, why);
                if (r < 0)
                        return r;
                changed++;
        }
        if (ret_changed)
                *ret_changed = changed;
        return 0;
}

int swapfiles_describe(const struct swapfiles_plan *p, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++) {
                const struct swapfiles_file *f = &p->files[i];
                char *s;
                int k;

                if (f->remove && !f->exists)
                        continue;
                if (f->remove)
                        k = asprintf(&s, "remove %s (gone from %s)", f->dst, f->src);
                else if (f->same)
                        k = asprintf(&s, "unchanged %s", f->dst);
                else
                        k = asprintf(&s, "write %s from %s (%zu line%s swapped)", f->dst, f->src,
                                     f->res.n_changes, f->res.n_changes == 1 ? "" : "s");
                if (k < 0 || strv_push(&l, s) < 0) {
                        if (k >= 0)
                                free(s);
                        return -ENOMEM;
                }
                if (f->remove || f->same)
                        continue;
                for (size_t c = 0; c < f->res.n_changes; c++) {
                        const struct swapids_change *ch = &f->res.changes[c];

                        if (asprintf(&s, "  %u: -%s", ch->line, ch->before) < 0)
                                return -ENOMEM;
                        if (strv_push(&l, s) < 0) {
                                free(s);
                                return -ENOMEM;
                        }
                        if (asprintf(&s, "  %u: +%s", ch->line, ch->after) < 0)
                                return -ENOMEM;
                        if (strv_push(&l, s) < 0) {
                                free(s);
                                return -ENOMEM;
                        }
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The job's steps */

/* The map a job with this destination uses. One on no block device (a backup on NFS) is
 * not the alternate disk: its copies are written as they are (an empty map). */
static int job_map(const struct config *c, const struct esp_model *m, struct libmnt_table *mounts,
                   const char *dest, struct swapids_map *map, char **why)
{
        dev_t d;

        if (block_devnum_of(mounts, dest, &d, NULL) == -ENODEV)
                return 0;
        return swapfiles_map_build(c, m, mounts, map, why);
}

int swapfiles_job_prepare(const struct config *c, const struct esp_model *m,
                          struct libmnt_table *mounts, const char *source, const char *dest,
                          char *const *excludes, bool test, struct swapids_map **ret_map,
                          char ***ret_notes, char **why)
{
        _cleanup_(swapids_map_freep) struct swapids_map *map = calloc(1, sizeof(*map));
        _cleanup_strv_free_ char **notes = NULL, **more = NULL, **ids = NULL;
        struct swapfiles_plan p = {};
        int r;

        if (!map)
                return -ENOMEM;
        r = job_map(c, m, mounts, dest, map, why);
        if (r < 0)
                return errmsg_prefix(why, r, "swap_ids: cannot build the identifier map");
        r = swapfiles_job_ids(c->swap_ids, source, &ids);
        if (r >= 0)
                r = swapfiles_plan(ids, source, dest, excludes, map, &p, why);
        if (r < 0)
                return errmsg_prefix(why, r, "swap_ids");
        if (test) {
                r = swapids_map_format(map, &more);
                if (r >= 0) {
                        STRV_FOREACH(l, more)
                        {
                                char *s;

                                if (asprintf(&s, "swap_ids map: %s", *l) < 0 ||
                                    strv_push(&notes, s) < 0) {
                                        r = -ENOMEM;
                                        break;
                                }
                        }
                        strv_free(more);
                        more = NULL;
                }
                if (r >= 0)
                        r = swapfiles_describe(&p, &more);
                STRV_FOREACH(l, more)
                {
                        char *s;

                        if (r < 0)
                                break;
                        if (asprintf(&s, "swap_ids: %s%s", **l == ' ' ? "" : "would ", *l) < 0 ||
                            strv_push(&notes, s) < 0)
                                r = -ENOMEM;
                }
        }
        swapfiles_plan_done(&p);
        if (r < 0)
                return r;
        *ret_map = TAKE_PTR(map);
        if (ret_notes)
                *ret_notes = TAKE_PTR(notes);
        return 0;
}

int swapfiles_job_finish(const struct config *c, const struct swapids_map *map, const char *source,
                         const char *dest, char *const *excludes, char **why)
{
        _cleanup_strv_free_ char **ids = NULL;
        struct swapfiles_plan p = {};
        int r;

        r = swapfiles_job_ids(c->swap_ids, source, &ids);
        if (r >= 0)
                r = swapfiles_plan(ids, source, dest, excludes, map, &p, why);
        if (r >= 0)
                r = swapfiles_write(&p, NULL, why);
        swapfiles_plan_done(&p);
        if (r < 0)
                return errmsg_prefix(why, r, "rsync finished, but swap_ids");
        return 0;
}

int swapfiles_check_dest(const struct config *c, const struct esp_model *m,
                         struct libmnt_table *mounts, const char *source, const char *dest,
                         char *const *excludes, char ***warnings, char ***critical, char ***ok)
{
        struct swapids_map map = {};
        struct swapfiles_plan p = {};
        _cleanup_free_ char *why = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        size_t n_same = 0;
        int r;

        r = job_map(c, m, mounts, dest, &map, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return strv_extendf(warnings, "cannot check the swap_ids copies on %s: %s", dest,
                                    strna(why));
        r = swapfiles_job_ids(c->swap_ids, source, &ids);
        if (r >= 0)
                r = swapfiles_plan(ids, source, dest, excludes, &map, &p, &why);
        if (r == -ENOMEM)
                goto finish;
        if (r < 0) {
                r = strv_extendf(warnings, "a sync of %s to %s would be refused: %s", source, dest,
                                 strna(why));
                goto finish;
        }
        for (size_t i = 0; i < p.n && r >= 0; i++) {
                const struct swapfiles_file *f = &p.files[i];
                _cleanup_free_ char *text = NULL;
                const struct swapids_entry *e = NULL;
                unsigned line = 0;
                size_t size;

                if (f->remove && f->exists)
                        r = strv_extendf(warnings,
                                         "%s is gone from the source %s (not synced since)", f->dst,
                                         f->src);
                else if (!f->remove && !f->exists)
                        r = strv_extendf(warnings,
                                         "%s is missing on the alternate (not synced yet)", f->dst);
                else if (!f->remove && !f->same)
                        r = strv_extendf(
                                warnings,
                                "%s differs from what a sync would write from %s (not synced "
                                "since %s changed, or edited on the alternate)",
                                f->dst, f->src, f->src);
                else
                        n_same += !f->remove;
                if (r < 0 || !f->exists)
                        continue;
                if (read_full_file(f->dst, SWAP_FILE_MAX, &text, &size) < 0)
                        continue; /* compare_dest read it a moment ago: gone meanwhile */
                r = swapids_find_roots(&map, text, size, true, &line, &e);
                if (r > 0)
                        r = strv_extendf(
                                critical,
                                "%s:%u names the root %s=%s, which is on the source disk (%s): "
                                "booted alone, the alternate would not find its own root",
                                f->dst, line, swapids_kind_to_string(e->kind), e->value, e->fs);
        }
        if (r >= 0 && n_same > 0 && n_same == p.n)
                r = strv_extendf(ok,
                                 "%zu swapped file%s on %s name%s the alternate's own filesystems",
                                 n_same, n_same == 1 ? "" : "s", dest, n_same == 1 ? "s" : "");
finish:
        swapfiles_plan_done(&p);
        swapids_map_done(&map);
        return r < 0 ? r : 0;
}
