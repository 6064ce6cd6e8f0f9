/* SPDX-License-Identifier: MIT */
/* --add-disk's step 1, continued (DESIGN.md §12 rule 9): where the new ESP goes. */
#include <dirent.h>
#include <strings.h>
#include <sys/stat.h>

#include <blkid.h>

#include "adddisk-internal.h"
#include "blockdev.h"
#include "fstab.h"
#include "util/dirent-util.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

/* 1 when the directory path holds a file, 0 when it is empty or absent, -errno when it cannot
 * be read. */
static int dir_has_files(const char *path)
{
        _cleanup_closedir_ DIR *dir = opendir(path);
        struct dirent *de;

        if (!dir)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(dir)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        return 1;
        return 0;
}

/* The ESP mount point to use: where fstab already mounts this PARTUUID, where it is mounted,
 * else the first /efi<N> with no fstab line, nothing mounted, and no files. */
static int choose_mount(struct ad *d, struct libmnt_table *t, const char *fstab_text,
                        const char *partuuid, char **ret, char **why)
{
        _cleanup_free_ char *target = NULL;
        int r;

        (void)d;
        r = partuuid ? fstab_text_find_partuuid(fstab_text, partuuid, &target) : 0;
        if (r < 0)
                return r;
        if (r > 0) {
                *ret = TAKE_PTR(target);
                return 0;
        }
        for (unsigned n = 0; n < 1000; n++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "/efi%u", n) < 0)
                        return -ENOMEM;
                if (fstab_text_has_target(fstab_text, p) || mounts_find_target(t, p))
                        continue;
                r = dir_has_files(p);
                if (r != 0)
                        continue;
                *ret = TAKE_PTR(p);
                return 0;
        }
        return errmsg(why, -ENOSPC, "no free /efi<N> mount point (0-999)");
}

/* --- step 1, continued: where the new ESP goes ----------------------------------------- */

/* Is the filesystem source of an fstab line (PARTUUID= or UUID=) on a present device? 1 yes,
 * 0 no, -EINVAL for another kind of source (not ours to judge), other -errno: could not look. */
static int source_present(const char *src)
{
        const char *v;

        if (strncasecmp(src, "PARTUUID=", 9) == 0) {
                v = src + 9;
                _cleanup_free_ char *node = NULL;
                dev_t devnum;
                int r = blockdev_from_partuuid(v, &node, &devnum, NULL);

                return r == -ENODEV ? 0 : r < 0 ? r : 1;
        }
        if (strncasecmp(src, "UUID=", 5) == 0) {
                v = src + 5;
                _cleanup_free_ char *link = NULL;
                blkid_cache cache = NULL;
                struct stat st;
                bool found;

                if (asprintf(&link, "/dev/disk/by-uuid/%s", v) < 0)
                        return -ENOMEM;
                if (stat(link, &st) == 0 && S_ISBLK(st.st_mode))
                        return 1;
                /* No udev link: every block device probed; no cache file read or written. */
                if (blkid_get_cache(&cache, "/dev/null") < 0)
                        return -ENOMEM;
                if (blkid_probe_all(cache) < 0) {
                        blkid_put_cache(cache);
                        return -EIO;
                }
                found = blkid_find_dev_with_tag(cache, "UUID", v) != NULL;
                blkid_put_cache(cache);
                return found ? 1 : 0;
        }
        return -EINVAL;
}

struct missing_scan {
        struct ad *d;
        struct libmnt_table *t;
        char **lines;   /* the missing ESPs' fstab lines */
        char **sources; /* their sources */
        char **targets; /* their mount points */
        int error;
        char *error_src;
};

static bool in_esp_set(const struct esp_model *m, const char *target)
{
        STRV_FOREACH(p, m->esp_set)
        if (fstab_same_target(*p, target))
                return true;
        /* the default set is the /efi<N> directories there are; a dead disk's may be gone */
        return !m->esp_set_from_config && target[0] == '/' && esp_name_is_default(target + 1);
}

static int scan_missing(const char *src, const char *target, const char *line, void *u)
{
        struct missing_scan *s = u;
        int r;

        if (!in_esp_set(s->d->m, target) ||
            (s->d->m->booted.mount && fstab_same_target(target, s->d->m->booted.mount)) ||
            mounts_find_target(s->t, target))
                return 0;
        r = source_present(src);
        if (r == -EINVAL || r == 1)
                return 0;
        if (r < 0) {
                s->error = r;
                s->error_src = strdup(src);
                return 1;
        }
        if (strv_extend(&s->lines, line) < 0 || strv_extend(&s->sources, src) < 0 ||
            strv_extend(&s->targets, target) < 0)
                return -ENOMEM;
        return 0;
}

/* The config line that would make esp_mounts name target as well. */
static char *esp_mounts_with(char *const *l, const char *target)
{
        _cleanup_free_ char *s = strdup("esp_mounts = [");

        STRV_FOREACH(p, l)
        {
                char *n;

                if (asprintf(&n, "%s\"%s\", ", s, *p) < 0)
                        return NULL;
                free(s);
                s = n;
        }
        {
                char *n;

                if (!s || asprintf(&n, "%s\"%s\"]", s, target) < 0)
                        return NULL;
                free(s);
                s = n;
        }
        return TAKE_PTR(s);
}

/* The fstab lines, one an indented line: "\n  LINE\n  LINE". NULL: out of memory. */
static char *lines_list(char *const *lines)
{
        _cleanup_free_ char *list = strdup("");

        STRV_FOREACH(l, lines)
        {
                char *n;

                if (!list || asprintf(&n, "%s\n  %s", list, *l) < 0)
                        return NULL;
                free(list);
                list = n;
        }
        return TAKE_PTR(list);
}

/* The new ESP takes the missing disk's place: the one line of s, whose mount point must hold
 * no files. More than one missing is refused: which is replaced is the user's to say. */
static int plan_take_missing(struct ad *d, const struct missing_scan *s, const char *fstab,
                             char **why)
{
        if (strv_length(s->lines) > 1) {
                _cleanup_free_ char *list = lines_list(s->lines);

                if (!list)
                        return -ENOMEM;
                return errmsg(why, -ENOTUNIQ,
                              "%s has %zu ESP lines whose disk is missing, and a new disk takes "
                              "the place of one:%s\nComment out in %s the line of each disk you "
                              "are not replacing now (keep exactly one; or none, for the next "
                              "free /efi<N>), then run the same command again",
                              fstab, strv_length(s->lines), list, fstab);
        }
        if (dir_has_files(s->targets[0]) > 0)
                return errmsg(why, -ENOTEMPTY,
                              "%s, the missing ESP's mount point, holds files though nothing is "
                              "mounted there: move them away (the new ESP would hide them), "
                              "then run the same command again",
                              s->targets[0]);
        d->esp_mount = strdup(s->targets[0]);
        d->replace_src = strdup(s->sources[0]);
        if (!d->esp_mount || !d->replace_src)
                return -ENOMEM;
        say(d,
            "the new ESP's mount point: %s, the missing disk's: no present disk holds %s, which "
            "%s mounts there; its line gets the new ESP's PARTUUID at step 4",
            d->esp_mount, d->replace_src, fstab);
        return 0;
}

/* Approach 1 with no line of an earlier run: the missing disk's mount point, else the next
 * free /efi<N>. */
static int plan_mount_point(struct ad *d, struct libmnt_table *t, const char *fstab,
                            const char *text, char **why)
{
        struct missing_scan s = { .d = d, .t = t };
        int r;

        r = fstab_text_foreach(text, scan_missing, &s);
        if (s.error)
                r = errmsg(why, s.error, "cannot tell whether %s of %s is on a present disk: %s",
                           strna(s.error_src), fstab, strerror(-s.error));
        else if (r >= 0 && strv_length(s.lines) > 0)
                r = plan_take_missing(d, &s, fstab, why);
        else if (r >= 0) {
                r = choose_mount(d, t, text, NULL, &d->esp_mount, why);
                if (r >= 0)
                        say(d,
                            "the new ESP's mount point: %s (no ESP of %s is missing: the next "
                            "free /efi<N>)",
                            d->esp_mount, fstab);
        }
        strv_free(s.lines);
        strv_free(s.sources);
        strv_free(s.targets);
        free(s.error_src);
        return r < 0 ? r : 0;
}

/* A mount point the sync does not know would fail step 5, after the disk is written. */
static int check_esp_mounts_names(struct ad *d, char **why)
{
        _cleanup_free_ char *want = NULL;

        if (!d->m->esp_set_from_config || !d->a->config->esp_mounts ||
            strv_contains(d->a->config->esp_mounts, d->esp_mount))
                return 0;
        want = esp_mounts_with(d->a->config->esp_mounts, d->esp_mount);
        return errmsg(why, -EINVAL,
                      "esp_mounts in %s does not name %s, where the new ESP goes, so no sync "
                      "would reach it. Set there: %s",
                      strna(d->a->config->path), d->esp_mount, strna(want));
}

/*
 * DESIGN.md §12 rule 9: the new ESP's mount point, decided at step 1 so that -t shows it and a
 * config that would not sync it stops the run before anything is written. An earlier run's line
 * for the new ESP wins; else the one missing disk's ESP line (its PARTUUID or UUID on no present
 * device, its mount point in the ESP set and not mounted) is taken over; two or more missing are
 * refused; none: the next free /efi<N>.
 */
int plan_mount(struct ad *d, struct libmnt_table *t, char **why)
{
        const char *fstab = fstab_path();
        const struct gpt_part *esp =
                d->resume ? gpt_layout_find_partno(&d->layout, d->esp_partno) : NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_file(fstab, 1024 * 1024, &text, NULL);
        if (r == -ENOENT)
                text = strdup("");
        else if (r < 0)
                return errmsg(why, r, "cannot read %s: %s", fstab, strerror(-r));
        if (!text)
                return -ENOMEM;

        if (esp && fstab_text_find_partuuid(text, esp->uuid, &d->esp_mount) > 0) {
                say(d,
                    "the new ESP's mount point: %s (%s mounts PARTUUID=%s there: an earlier run)",
                    d->esp_mount, fstab, esp->uuid);
        } else if (d->twin) {
                /* §12b A4: below the twin's root, where the booted one is below ours */
                if (asprintf(&d->esp_mount, "%s%s", d->alt_root, d->m->booted.mount) < 0) {
                        d->esp_mount = NULL;
                        return -ENOMEM;
                }
                say(d, "the new ESP's mount point: %s (the twin's root is mounted on %s)",
                    d->esp_mount, d->alt_root);
        } else {
                r = plan_mount_point(d, t, fstab, text, why);
                if (r < 0)
                        return r;
        }
        return check_esp_mounts_names(d, why);
}
