/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "rootfs.h"
#include "util/dirent-util.h"
#include "util/errmsg.h"

void rootfs_btrfs_done(struct rootfs_btrfs *b)
{
        for (size_t i = 0; i < b->n_devices; i++)
                free(b->devices[i].path);
        free(b->devices);
        *b = (struct rootfs_btrfs){};
}

static void uuid_to_string(const uint8_t *u, char ret[37])
{
        snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                 u[13], u[14], u[15]);
}

static int read_profiles(int fd, struct rootfs_btrfs *b, char **why)
{
        _cleanup_free_ struct btrfs_ioctl_space_args *sa = NULL;
        struct btrfs_ioctl_space_args probe = {};
        uint64_t n;

        /* First call with no slots tells how many there are. */
        if (ioctl(fd, BTRFS_IOC_SPACE_INFO, &probe) < 0)
                return errmsg(why, negative_errno(), "BTRFS_IOC_SPACE_INFO: %m");
        n = probe.total_spaces;
        if (n > 64)
                return errmsg(why, -E2BIG, "BTRFS_IOC_SPACE_INFO: %" PRIu64 " space kinds", n);
        sa = calloc(1, sizeof(*sa) + n * sizeof(struct btrfs_ioctl_space_info));
        if (!sa)
                return -ENOMEM;
        sa->space_slots = n;
        if (ioctl(fd, BTRFS_IOC_SPACE_INFO, sa) < 0)
                return errmsg(why, negative_errno(), "BTRFS_IOC_SPACE_INFO: %m");
        for (uint64_t i = 0; i < sa->total_spaces && i < n; i++) {
                uint64_t f = sa->spaces[i].flags, p = f & BTRFS_BLOCK_GROUP_PROFILE_MASK;

                if ((f & BTRFS_SPACE_INFO_GLOBAL_RSV) || sa->spaces[i].total_bytes == 0)
                        continue;
                if (!p)
                        p = ROOTFS_PROFILE_SINGLE;
                if (f & BTRFS_BLOCK_GROUP_DATA)
                        b->data_profiles |= p;
                if (f & BTRFS_BLOCK_GROUP_METADATA)
                        b->metadata_profiles |= p;
                if (f & BTRFS_BLOCK_GROUP_SYSTEM)
                        b->system_profiles |= p;
        }
        return 0;
}

int rootfs_btrfs_read(int fd, struct rootfs_btrfs *ret, char **why)
{
        _cleanup_(rootfs_btrfs_done) struct rootfs_btrfs b = {};
        struct btrfs_ioctl_fs_info_args fi = {};
        int r;

        if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0) {
                r = negative_errno();
                if (r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL)
                        return -ENOTTY;
                return errmsg(why, r, "BTRFS_IOC_FS_INFO: %m");
        }
        if (fi.max_id > 4096)
                return errmsg(why, -E2BIG, "BTRFS_IOC_FS_INFO: max devid %" PRIu64,
                              (uint64_t)fi.max_id);
        b.num_devices = fi.num_devices;
        b.devices = calloc(fi.max_id + 1, sizeof(*b.devices));
        if (!b.devices)
                return -ENOMEM;
        for (uint64_t id = 1; id <= fi.max_id; id++) {
                _cleanup_free_ struct btrfs_ioctl_dev_info_args *di = calloc(1, sizeof(*di));
                struct rootfs_btrfs_device *d;

                if (!di)
                        return -ENOMEM;
                di->devid = id;
                if (ioctl(fd, BTRFS_IOC_DEV_INFO, di) < 0) {
                        if (errno == ENODEV)
                                continue; /* removed earlier: devids are not reused */
                        return errmsg(why, negative_errno(),
                                      "BTRFS_IOC_DEV_INFO devid %" PRIu64 ": %m", id);
                }
                d = &b.devices[b.n_devices++];
                d->devid = id;
                uuid_to_string(di->uuid, d->uuid);
                d->total_bytes = di->total_bytes;
                di->path[sizeof(di->path) - 1] = 0;
                /* The kernel names a device it could not find "<missing disk>" (fs/btrfs
                 * volumes.h btrfs_dev_name()), or gives no name at all. */
                if (di->path[0] && !streq((const char *)di->path, "<missing disk>")) {
                        d->path = strdup((const char *)di->path);
                        if (!d->path)
                                return -ENOMEM;
                } else {
                        b.n_missing++;
                }
        }
        r = read_profiles(fd, &b, why);
        if (r < 0)
                return r;
        *ret = b;
        b = (struct rootfs_btrfs){};
        return 0;
}

const char *rootfs_profiles_to_string(uint64_t profiles, char *buf, size_t size)
{
        static const struct {
                uint64_t bit;
                const char *name;
        } names[] = {
                { ROOTFS_PROFILE_SINGLE, "single" },      { BTRFS_BLOCK_GROUP_DUP, "dup" },
                { BTRFS_BLOCK_GROUP_RAID0, "raid0" },     { BTRFS_BLOCK_GROUP_RAID1, "raid1" },
                { BTRFS_BLOCK_GROUP_RAID1C3, "raid1c3" }, { BTRFS_BLOCK_GROUP_RAID1C4, "raid1c4" },
                { BTRFS_BLOCK_GROUP_RAID10, "raid10" },   { BTRFS_BLOCK_GROUP_RAID5, "raid5" },
                { BTRFS_BLOCK_GROUP_RAID6, "raid6" },
        };
        size_t len = 0;

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (profiles & names[i].bit) {
                        int k = snprintf(buf + len, size - len, "%s%s", len ? "+" : "",
                                         names[i].name);

                        if (k < 0 || (size_t)k >= size - len)
                                break;
                        len += (size_t)k;
                }
        if (len == 0)
                snprintf(buf, size, "none");
        return buf;
}

static const struct {
        uint64_t bit;
        unsigned tolerance;
} tolerances[] = {
        { ROOTFS_PROFILE_SINGLE, 0 },     { BTRFS_BLOCK_GROUP_DUP, 0 },
        { BTRFS_BLOCK_GROUP_RAID0, 0 },   { BTRFS_BLOCK_GROUP_RAID1, 1 },
        { BTRFS_BLOCK_GROUP_RAID1C3, 2 }, { BTRFS_BLOCK_GROUP_RAID1C4, 3 },
        { BTRFS_BLOCK_GROUP_RAID10, 1 },  { BTRFS_BLOCK_GROUP_RAID5, 1 },
        { BTRFS_BLOCK_GROUP_RAID6, 2 },
};

unsigned rootfs_profiles_tolerance(uint64_t profiles)
{
        unsigned t = UINT_MAX;

        for (size_t i = 0; i < ELEMENTSOF(tolerances); i++)
                if ((profiles & tolerances[i].bit) && tolerances[i].tolerance < t)
                        t = tolerances[i].tolerance;
        /* A bit we do not know: judged as none rather than guessed. */
        for (size_t i = 0; i < ELEMENTSOF(tolerances); i++)
                profiles &= ~tolerances[i].bit;
        if (profiles)
                t = 0;
        return t == UINT_MAX ? 0 : t;
}

bool rootfs_profiles_redundant(uint64_t profiles)
{
        return rootfs_profiles_tolerance(profiles) >= 1;
}

uint64_t rootfs_profiles_weak(uint64_t profiles)
{
        uint64_t weak = 0;

        for (size_t i = 0; i < ELEMENTSOF(tolerances); i++)
                if ((profiles & tolerances[i].bit) && tolerances[i].tolerance == 0)
                        weak |= tolerances[i].bit;
        return weak;
}

unsigned rootfs_btrfs_tolerance(const struct rootfs_btrfs *b)
{
        unsigned t = rootfs_profiles_tolerance(b->data_profiles);

        unsigned m = rootfs_profiles_tolerance(b->metadata_profiles);
        unsigned s = rootfs_profiles_tolerance(b->system_profiles);

        if (m < t)
                t = m;
        return s < t ? s : t;
}

/* "single|dup": the names btrfs-progs' profiles= filter takes, joined with '|'. */
static int weak_names(uint64_t weak, char **ret)
{
        char buf[64];

        rootfs_profiles_to_string(weak, buf, sizeof(buf));
        for (char *c = buf; *c; c++)
                if (*c == '+')
                        *c = '|';
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* The strongest redundant profile among these (the one the filesystem was made or converted
 * to), its name; "raid1" when there is none (a single-device root being made raid1). */
/* The redundant profile the weak chunks of a kind are raised to: the kind's own, else (every
 * chunk of the kind weak, as after a degraded mount wrote its single chunks) the other kinds',
 * else raid1 (DESIGN.md §12 rule 7: never lower, never mix two redundant profiles). */
static const char *raise_target(uint64_t profiles, uint64_t other)
{
        static const struct {
                uint64_t bit;
                const char *name;
        } order[] = {
                /* most devices lost first; at equal tolerance the one that needs fewest
                 * devices */
                { BTRFS_BLOCK_GROUP_RAID1C4, "raid1c4" }, { BTRFS_BLOCK_GROUP_RAID1C3, "raid1c3" },
                { BTRFS_BLOCK_GROUP_RAID6, "raid6" },     { BTRFS_BLOCK_GROUP_RAID1, "raid1" },
                { BTRFS_BLOCK_GROUP_RAID10, "raid10" },   { BTRFS_BLOCK_GROUP_RAID5, "raid5" },
        };

        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (profiles & order[i].bit)
                        return order[i].name;
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (other & order[i].bit)
                        return order[i].name;
        return "raid1";
}

static int raise_filter(char kind, uint64_t profiles, uint64_t other, char **ret)
{
        _cleanup_free_ char *names = NULL;
        uint64_t weak = rootfs_profiles_weak(profiles);

        *ret = NULL;
        if (!weak)
                return 0;
        if (weak_names(weak, &names) < 0)
                return -ENOMEM;
        if (asprintf(ret, "-%cconvert=%s,soft,profiles=%s", kind, raise_target(profiles, other),
                     names) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

int rootfs_btrfs_raise_filters(const struct rootfs_btrfs *b, char **ret_data, char **ret_meta)
{
        _cleanup_free_ char *d = NULL, *m = NULL;

        if (raise_filter('d', b->data_profiles, b->metadata_profiles | b->system_profiles, &d) <
                    0 ||
            raise_filter('m', b->metadata_profiles | b->system_profiles, b->data_profiles, &m) < 0)
                return -ENOMEM;
        *ret_data = TAKE_PTR(d);
        *ret_meta = TAKE_PTR(m);
        return 0;
}

int rootfs_btrfs_fsid(int fd, char ret[37])
{
        struct btrfs_ioctl_fs_info_args fi = {};

        assert(ret);
        ret[0] = 0;
        if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0) {
                int r = negative_errno();

                return r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL ? -ENOTTY : r;
        }
        uuid_to_string(fi.fsid, ret);
        return 0;
}

int rootfs_btrfs_of_device(const char *name, char **ret)
{
        _cleanup_closedir_ DIR *dir = opendir("/sys/fs/btrfs");
        struct dirent *de;

        assert(name);
        assert(ret);
        *ret = NULL;
        while (dir && (de = readdir(dir))) {
                _cleanup_free_ char *p = NULL;

                if (de->d_name[0] == '.' || streq(de->d_name, "features"))
                        continue;
                if (asprintf(&p, "/sys/fs/btrfs/%s/devices/%s", de->d_name, name) < 0)
                        return -ENOMEM;
                if (access(p, F_OK) == 0) {
                        *ret = strdup(de->d_name);
                        return *ret ? 0 : -ENOMEM;
                }
        }
        return 0;
}

int rootfs_btrfs_replace_status(int fd, bool *ret_running, uint64_t *ret_permille)
{
        struct btrfs_ioctl_dev_replace_args rq = { .cmd = BTRFS_IOCTL_DEV_REPLACE_CMD_STATUS };

        assert(ret_running);
        if (ioctl(fd, BTRFS_IOC_DEV_REPLACE, &rq) < 0)
                return negative_errno();
        *ret_running = rq.status.replace_state == BTRFS_IOCTL_DEV_REPLACE_STATE_STARTED;
        if (ret_permille)
                *ret_permille = rq.status.progress_1000;
        return 0;
}

int rootfs_btrfs_balance_progress(int fd, uint64_t *ret_done, uint64_t *ret_expected)
{
        struct btrfs_ioctl_balance_args ba = {};

        assert(ret_done);
        assert(ret_expected);
        if (ioctl(fd, BTRFS_IOC_BALANCE_PROGRESS, &ba) < 0)
                return negative_errno();
        *ret_done = ba.stat.completed;
        *ret_expected = ba.stat.expected;
        return 0;
}
