/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid.h>

#include "blockdev.h"
#include "config.h"
#include "disk.h"
#include "esp.h"
#include "md.h"
#include "util/errmsg.h"
#include "util/log.h"
#include "util/strv.h"

bool esp_name_is_default(const char *name)
{
        const char *d = startswith(name, "efi");

        if (!d || !*d)
                return false;
        for (; *d; d++)
                if (*d < '0' || *d > '9')
                        return false;
        return true;
}

static int cmp_efi_names(const void *a, const void *b)
{
        const char *x = *(char *const *)a + strlen("/efi"), *y = *(char *const *)b + strlen("/efi");
        unsigned long long nx = strtoull(x, NULL, 10), ny = strtoull(y, NULL, 10);

        if (nx != ny)
                return nx < ny ? -1 : 1;
        return strcmp(x, y);
}

/* Every real directory /efi<digits> (not /efi-old, not a symlink), ordered by number. */
static int esp_set_default(char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (!l)
                return -ENOMEM;
        d = opendir("/");
        if (!d)
                return negative_errno();
        errno = 0;
        while ((de = readdir(d))) {
                struct stat st;
                char *p;

                if (!esp_name_is_default(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode))
                        continue;
                if (asprintf(&p, "/%s", de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = strv_push(&l, p);
                if (r < 0) {
                        free(p);
                        break;
                }
                errno = 0;
        }
        if (r == 0 && errno != 0)
                r = negative_errno(); /* readdir failed: do not act on half a listing */
        closedir(d);
        if (r < 0)
                return r;
        qsort(l, strv_length(l), sizeof(char *), cmp_efi_names);
        *ret = TAKE_PTR(l);
        return 0;
}

static void esp_done(struct esp *e)
{
        free(e->mount);
        free(e->device);
        free(e->partuuid);
        free(e->uuid);
        free(e->fstype);
        strv_free(e->mounts);
        *e = (struct esp){};
}

struct esp_model *esp_model_free(struct esp_model *m)
{
        if (!m)
                return NULL;
        efi_boot_done(&m->boot);
        free(m->why);
        esp_done(&m->booted);
        strv_free(m->esp_set);
        for (size_t i = 0; i < m->n_alternates; i++)
                esp_done(&m->alternates[i]);
        free(m->alternates);
        free(m->md_refusal);
        free(m);
        return NULL;
}

/* Fills UUID and type from the superblock; falls back to the mount table's type. Probing
 * needs read access to the device: without it the UUID stays unknown (NULL), which the
 * report shows as such. */
static int esp_probe(struct esp *e, struct libmnt_fs *fs)
{
        struct blockdev_probe p = {};
        int r;

        if (e->device) {
                r = blockdev_probe(e->device, fs ? mnt_fs_get_fstype(fs) : NULL, &p);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        log_debug("cannot probe %s: %s", e->device, strerror(-r));
        }
        e->uuid = TAKE_PTR(p.uuid);
        e->fstype = TAKE_PTR(p.fstype);
        blockdev_probe_done(&p);
        if (!e->fstype && fs && mnt_fs_get_fstype(fs)) {
                e->fstype = strdup(mnt_fs_get_fstype(fs));
                if (!e->fstype)
                        return -ENOMEM;
        }
        return 0;
}

static int esp_fill_from_devnum(struct esp *e, struct libmnt_table *t, struct libmnt_fs *fs,
                                bool probe)
{
        int r;

        if (!e->device) {
                r = disk_node_of(e->devnum, &e->device);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && fs && mnt_fs_get_srcpath(fs)) {
                        e->device = strdup(mnt_fs_get_srcpath(fs));
                        if (!e->device)
                                return -ENOMEM;
                }
        }
        if (probe) {
                if (!e->partuuid) {
                        r = blockdev_partuuid_of(e->device, e->devnum, &e->partuuid);
                        if (r == -ENOMEM)
                                return r;
                }
                r = esp_probe(e, fs);
                if (r < 0)
                        return r;
        } else if (fs && mnt_fs_get_fstype(fs)) {
                e->fstype = strdup(mnt_fs_get_fstype(fs));
                if (!e->fstype)
                        return -ENOMEM;
        }
        return mounts_of_devnum(t, e->devnum, &e->mounts);
}

int esp_md_of(const char *node, dev_t devnum, char **ret_array)
{
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        _cleanup_free_ char *dir = NULL, *md = NULL, *holders = NULL;
        const char *sysfs = disk_sysfs_root();
        char *only[] = { "linux_raid_member", NULL };
        DIR *d;
        struct dirent *de;
        int r;

        *ret_array = NULL;
        if (asprintf(&dir, "%s/dev/block/%u:%u", sysfs, major(devnum), minor(devnum)) < 0 ||
            asprintf(&md, "%s/md", dir) < 0 || asprintf(&holders, "%s/holders", dir) < 0)
                return -ENOMEM;
        /* the device is itself an array */
        if (access(md, F_OK) == 0) {
                _cleanup_free_ char *real = realpath(dir, NULL);
                const char *slash = real ? strrchr(real, '/') : NULL;

                *ret_array = strdup(slash ? slash + 1 : "md");
                return *ret_array ? 1 : -ENOMEM;
        }
        if (!node)
                return 0;
        /* a member: its superblock (1.0 lies at the end, behind a FAT that mounts alone) */
        errno = 0;
        pr = blkid_new_probe_from_filename(node);
        if (!pr)
                return errno ? -errno : -EIO;
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
        if (blkid_probe_filter_superblocks_type(pr, BLKID_FLTR_ONLYIN, only) < 0)
                return -EIO;
        r = blkid_do_probe(pr);
        if (r < 0)
                return -EIO;
        if (r == 1)
                return 0;
        /* assembled: the array holds it */
        d = opendir(holders);
        while (d && (de = readdir(d)))
                if (startswith(de->d_name, "md")) {
                        *ret_array = strdup(de->d_name);
                        if (!*ret_array) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        break;
                }
        if (d)
                closedir(d);
        return 1;
}

/* Rule S12: the refusal of an ESP on md RAID, with the way out, the commands named for this
 * machine's devices where they are known. */
static int md_refusal(struct esp_model *m, const char *what, const char *node, const char *array)
{
        _cleanup_(md_array_done) struct md_array a = {};
        _cleanup_free_ char *steps = NULL;
        const char *arr = array ? array : "mdX";
        size_t len = 0;
        FILE *f;
        int r = array ? md_array_read(disk_sysfs_root(), array, &a, NULL) : -ENOENT;

        f = open_memstream(&steps, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "%s is on md RAID (%s%s): the firmware writes to one member alone (fwupd "
                "capsules, boot counters, the random seed), which silently desynchronises the "
                "mirror, so dual-root does not treat it as one of its ESPs. Split it into two "
                "independent ESPs, one member at a time, each with its own identity, then let "
                "dual-root keep them in sync:",
                what, array ? "array " : "member ", array ? array : node);
        if (r >= 0 && a.n_members >= 2) {
                const struct md_member *keep = &a.members[0], *take = &a.members[1];
                _cleanup_free_ char *tnode = NULL, *knode = NULL, *tpu = NULL, *kpu = NULL;
                struct stat st;

                if (asprintf(&tnode, "/dev/%s", take->name) < 0 ||
                    asprintf(&knode, "/dev/%s", keep->name) < 0) {
                        fclose(f);
                        return -ENOMEM;
                }
                /* their PARTUUIDs, for the fstab lines (as the link or libblkid know them) */
                if (stat(tnode, &st) == 0 &&
                    blockdev_partuuid_of(tnode, st.st_rdev, &tpu) == -ENOMEM) {
                        fclose(f);
                        return -ENOMEM;
                }
                if (stat(knode, &st) == 0 &&
                    blockdev_partuuid_of(knode, st.st_rdev, &kpu) == -ENOMEM) {
                        fclose(f);
                        return -ENOMEM;
                }
                _cleanup_free_ char *newpu = NULL;

                /* a cloned pair carries one PARTUUID twice (§3 D2): the second gets its own */
                if (tpu && kpu && streq(tpu, kpu) && take->partno && take->disk &&
                    asprintf(&newpu, "; the PARTUUIDs are equal: sgdisk -u %u:R /dev/%s",
                             take->partno, take->disk) < 0) {
                        fclose(f);
                        return -ENOMEM;
                }
                fprintf(f,
                        " 1. mdadm --manage /dev/%s --fail %s --remove %s;"
                        " mdadm --zero-superblock %s; fatlabel -i -r %s (a new volume ID%s);"
                        " mount it on /efi1 by its PARTUUID (fstab: PARTUUID=%s /efi1 vfat "
                        "umask=0077,nofail 0 2)."
                        " 2. unmount the array; mdadm --stop /dev/%s; mdadm --zero-superblock %s;"
                        " mount it on /efi0 (fstab: PARTUUID=%s /efi0 vfat umask=0077,nofail 0 "
                        "2, not the array's UUID); remove the ARRAY line of %s from mdadm.conf "
                        "and rebuild the initrd."
                        " 3. dual-root-tool -s, then dual-root-tool --fix-boot-entries -t.",
                        arr, tnode, tnode, tnode, tnode, newpu ? newpu : "",
                        tpu ? tpu : "(see blkid)", arr, knode, kpu ? kpu : "(see blkid)", arr);
        } else if (array) {
                fprintf(f,
                        " 1. note its members: mdadm --detail /dev/%s. 2. unmount it and stop it: "
                        "mdadm --stop /dev/%s. 3. on each member: mdadm --zero-superblock (the "
                        "FAT at its start stays); give the second a new volume ID (fatlabel -i "
                        "-r) and mount each on its own /efi<N> by PARTUUID in fstab. 4. remove "
                        "the ARRAY line of %s from mdadm.conf, rebuild the initrd, then "
                        "dual-root-tool -s.",
                        arr, arr, arr);
        } else {
                fprintf(f,
                        " it is not assembled now: 1. mdadm --zero-superblock %s (the FAT at its "
                        "start stays), and the same on its twin on the other disk; 2. give the "
                        "twin a new volume ID (fatlabel -i -r) and mount each on its own "
                        "/efi<N> by PARTUUID in fstab; 3. remove the array's ARRAY line from "
                        "mdadm.conf, rebuild the initrd, then dual-root-tool -s.",
                        node);
        }
        if (fclose(f) != 0 || !steps)
                return -ENOMEM;
        free(m->md_refusal);
        m->md_refusal = TAKE_PTR(steps);
        free(m->why);
        m->why = strdup(m->md_refusal);
        m->device_ok = false;
        return m->why ? 0 : -ENOMEM;
}

const char *esp_sysfs_root(void)
{
        const char *e = disk_sysfs_seam();

        if (e)
                return e;
        return secure_getenv("DUAL_ROOT_EFIVARS") ? NULL : disk_sysfs_root();
}

static int esp_model_find_booted(struct esp_model *m, const char *efivars_dir,
                                 const char *sysfs_root, bool probe, struct libmnt_table *t)
{
        int r;

        r = efi_find_booted_partuuid_full(efivars_dir, sysfs_root, sysfs_root ? "/dev" : NULL,
                                          &m->boot, &m->why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        m->boot_ok = true;

        m->booted.partuuid = strdup(m->boot.partuuid);
        if (!m->booted.partuuid)
                return -ENOMEM;
        r = blockdev_from_partuuid(m->boot.partuuid, &m->booted.device, &m->booted.devnum, &m->why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                errmsg_prefix(&m->why, r, "the firmware booted from PARTUUID %s (%s)",
                              m->boot.partuuid, boot_method_to_string(m->boot.method));
                return 0;
        }
        /* D2: one PARTUUID, one partition. A disk cloned with dd carries the booted ESP's
         * PARTUUID too, and which of the two the firmware started cannot be told. */
        {
                _cleanup_strv_free_ char **holders = NULL;
                const char *disks = secure_getenv("DUAL_ROOT_DISKS");

                r = blockdev_partuuid_holders(m->boot.partuuid, sysfs_root,
                                              isempty(disks) ? NULL : disks, &holders);
                if (r < 0)
                        return r;
                if (strv_length(holders) > 1) {
                        _cleanup_free_ char *list = strv_join(holders, " and ");

                        free(m->why);
                        m->why = NULL;
                        (void)errmsg(&m->why, 0,
                                     "the booted PARTUUID %s is on %zu partitions: %s (a disk "
                                     "cloned with dd?), so which one the firmware booted cannot "
                                     "be told. Give the copy new GUIDs, e.g. 'sgdisk -G DISK' "
                                     "for a whole disk or 'sgdisk -u N:R DISK' for partition N, "
                                     "then reboot",
                                     m->boot.partuuid, strv_length(holders), strna(list));
                        return 0;
                }
        }
        m->device_ok = true;
        /* Any of its mounts tells its type, so the probe can look for that first. */
        r = esp_fill_from_devnum(
                &m->booted, t, mnt_table_find_devno(t, m->booted.devnum, MNT_ITER_FORWARD), probe);
        if (r < 0)
                return r;
        /* S12: a booted ESP that is an md member is refused. */
        {
                _cleanup_free_ char *array = NULL, *what = NULL;

                r = esp_md_of(m->booted.device, m->booted.devnum, &array);
                if (r == -ENOMEM)
                        return r;
                if (r > 0) {
                        if (asprintf(&what, "the booted ESP %s (PARTUUID %s)", m->booted.device,
                                     m->booted.partuuid) < 0)
                                return -ENOMEM;
                        return md_refusal(m, what, m->booted.device, array);
                }
        }
        return 0;
}

int esp_model_load(const struct config *c, const char *efivars_dir, const char *sysfs_root,
                   bool probe, struct libmnt_table *t, struct esp_model **ret)
{
        _cleanup_esp_model_ struct esp_model *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return -ENOMEM;
        m->boot.boot_entry = -1;

        r = esp_model_find_booted(m, efivars_dir, sysfs_root, probe, t);
        if (r < 0)
                return r;

        if (c && c->esp_mounts) {
                m->esp_set = calloc(1, sizeof(char *));
                if (!m->esp_set)
                        return -ENOMEM;
                STRV_FOREACH(p, c->esp_mounts)
                {
                        char *s = path_strip_trailing_slashes(*p);

                        if (!s || strv_push(&m->esp_set, s) < 0) {
                                free(s);
                                return -ENOMEM;
                        }
                }
                m->esp_set_from_config = true;
        } else {
                r = esp_set_default(&m->esp_set);
                if (r < 0)
                        return r;
        }

        m->alternates = calloc(strv_length(m->esp_set) + 1, sizeof(struct esp));
        if (!m->alternates)
                return -ENOMEM;

        STRV_FOREACH(p, m->esp_set)
        {
                struct libmnt_fs *fs = mounts_find_target(t, *p);
                struct esp *a;

                /* Only a mount of the whole filesystem (root "/") is the booted ESP's
                 * mount; a bind of one of its directories is not. */
                if (fs && m->device_ok && mnt_fs_get_devno(fs) == m->booted.devnum &&
                    streq_ptr(mnt_fs_get_root(fs), "/")) {
                        if (!m->booted.mount) {
                                m->booted.mount = strdup(*p);
                                if (!m->booted.mount)
                                        return -ENOMEM;
                        }
                        continue; /* never an alternate: DESIGN.md §5 rule 1 */
                }

                a = &m->alternates[m->n_alternates++];
                a->mount = strdup(*p);
                if (!a->mount)
                        return -ENOMEM;
                if (!fs)
                        continue;
                a->mounted = true;
                a->devnum = mnt_fs_get_devno(fs);
                r = esp_fill_from_devnum(a, t, fs, probe);
                if (r < 0)
                        return r;
                /* S12: an ESP mount whose device is an md array (or a member) is refused. */
                if (!m->md_refusal) {
                        _cleanup_free_ char *array = NULL, *what = NULL;

                        r = esp_md_of(a->device, a->devnum, &array);
                        if (r == -ENOMEM)
                                return r;
                        if (r > 0) {
                                if (asprintf(&what, "the ESP mounted on %s (%s)", a->mount,
                                             strna(a->device)) < 0)
                                        return -ENOMEM;
                                r = md_refusal(m, what, a->device, array);
                                if (r < 0)
                                        return r;
                        }
                }
        }

        *ret = TAKE_PTR(m);
        return 0;
}

int esp_check_identity(const struct esp *e, const char *where, const char *refusal, char **why)
{
        _cleanup_free_ char *type = NULL;
        int r;

        r = e && e->device ? blockdev_part_type(e->device, &type) : -ENOENT;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        if (!streq(type, ESP_GPT_TYPE) && !streq(type, ESP_MBR_TYPE))
                return errmsg(why, -EMEDIUMTYPE,
                              "%s holds %s, a partition of type %s, not an EFI System Partition "
                              "(" ESP_GPT_TYPE "): %s",
                              where, e->device, type, refusal);
        if (!streq_ptr(e->fstype, "vfat"))
                return errmsg(why, -EMEDIUMTYPE,
                              "%s holds %s, an EFI System Partition with a %s filesystem, not "
                              "vfat: %s",
                              where, e->device, strna(e->fstype), refusal);
        return 1;
}

bool esp_tree_has_efi_dir(int dir_fd)
{
        struct dirent *de;
        bool found = false;
        DIR *d;
        int fd;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return false;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return false;
        }
        while (!found && (de = readdir(d))) {
                struct stat st;

                found = strcasecmp(de->d_name, "EFI") == 0 &&
                        fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                        S_ISDIR(st.st_mode);
        }
        closedir(d);
        return found;
}

int esp_check_source(const struct esp *booted, int dir_fd, const char *where, char **why)
{
        _cleanup_free_ char *shown = NULL;
        int r;

        if (asprintf(&shown, "the booted ESP '%s'", where) < 0)
                return -ENOMEM;
        r = esp_check_identity(booted, shown, "not mirroring it onto the alternates", why);
        if (r != 0)
                return r < 0 ? r : 0;
        if (esp_tree_has_efi_dir(dir_fd))
                return 0;
        return errmsg(why, -EMEDIUMTYPE,
                      "%s (%s, PARTUUID %s) has no EFI directory and its partition type cannot "
                      "be read: it may not be an ESP (a data partition on an ESP mount point?); "
                      "not mirroring it onto the alternates. Check what the firmware booted and "
                      "what is mounted there",
                      shown, strna(booted ? booted->device : NULL),
                      strna(booted ? booted->partuuid : NULL));
}
