/* SPDX-License-Identifier: MIT */
/*
 * A btrfs superblock's mkfs choices (btrfsfeat.h, DESIGN.md §12b A2). The layout is the
 * on-disk struct btrfs_super_block of the kernel's include/uapi/linux/btrfs_tree.h, little
 * endian; the feature names are those of mkfs.btrfs(8) -O and -R in btrfs-progs 6.2, which
 * `btrfs inspect-internal dump-super` prints in capitals.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btrfsfeat.h"
#include "util/errmsg.h"
#include "util/macro.h"
#include "util/strv.h"

#define SB_MAGIC 0x40
#define SB_SECTORSIZE 0x90
#define SB_NODESIZE 0x94
#define SB_COMPAT 0xAC
#define SB_COMPAT_RO 0xB4
#define SB_INCOMPAT 0xBC
#define SB_CSUM_TYPE 0xC4

enum { COMPAT_RO, INCOMPAT };

enum kind {
        MADE,    /* a choice given to mkfs.btrfs -O (or -R for the free space tree) */
        IMPLIED, /* mkfs.btrfs sets it with another choice: nothing to give */
        APART,   /* state: not given, said */
        REFUSED, /* a choice mkfs.btrfs 6.2 cannot make: the twin could not be alike */
};

static const struct flag {
        int set;
        uint64_t bit;
        const char *name;
        enum kind kind;
        const char *why; /* APART, REFUSED */
} flags[] = {
        { COMPAT_RO, 0x1, "free-space-tree", MADE, NULL },
        { COMPAT_RO, 0x2, "free-space-tree-valid", IMPLIED, NULL },
        { COMPAT_RO, 0x4, "verity", APART, "state: files with fs-verity" },
        { COMPAT_RO, 0x8, "block-group-tree", REFUSED,
          "Debian 12's mkfs.btrfs 6.2 makes it only in an experimental build" },
        { INCOMPAT, 0x1, "mixed-backref", IMPLIED, NULL },
        { INCOMPAT, 0x2, "default-subvol", APART, "state: a default subvolume was set" },
        { INCOMPAT, 0x4, "mixed-bg", MADE, NULL },
        { INCOMPAT, 0x8, "compress-lzo", APART, "state: lzo compression was used" },
        { INCOMPAT, 0x10, "compress-zstd", APART, "state: zstd compression was used" },
        { INCOMPAT, 0x20, "big-metadata", IMPLIED, NULL },
        { INCOMPAT, 0x40, "extref", MADE, NULL },
        { INCOMPAT, 0x80, "raid56", MADE, NULL },
        { INCOMPAT, 0x100, "skinny-metadata", MADE, NULL },
        { INCOMPAT, 0x200, "no-holes", MADE, NULL },
        { INCOMPAT, 0x400, "metadata-uuid", APART, "state: the fsid was changed after mkfs" },
        { INCOMPAT, 0x800, "raid1c34", MADE, NULL },
        { INCOMPAT, 0x1000, "zoned", MADE, NULL },
        { INCOMPAT, 0x2000, "extent-tree-v2", REFUSED,
          "Debian 12's mkfs.btrfs 6.2 makes it only in an experimental build" },
        { INCOMPAT, 0x4000, "raid-stripe-tree", REFUSED, "newer than mkfs.btrfs 6.2" },
        { INCOMPAT, 0x10000, "simple-quota", REFUSED, "newer than mkfs.btrfs 6.2" },
};

/* mkfs.btrfs 6.2's default -O features: "^F" when the filesystem lacks one */
static const char *const default_features[] = { "extref", "skinny-metadata", "no-holes" };

static const char *const csum_names[] = { "crc32c", "xxhash", "sha256", "blake2" };

static const char *const set_names[] = { "compat_ro_flags", "incompat_flags" };

static uint32_t le16(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
        return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
        return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

void btrfs_params_done(struct btrfs_params *p)
{
        if (!p)
                return;
        strv_free(p->features);
        strv_free(p->state);
        *p = (struct btrfs_params){};
}

int btrfs_params_parse(const void *data, size_t size, struct btrfs_params *ret, char **why)
{
        const uint8_t *sb = data;
        struct btrfs_params p = {};
        uint64_t compat, sets[2];
        uint32_t csum;
        int r;

        if (size < BTRFS_SUPERBLOCK_SIZE)
                return errmsg(why, -EBADMSG, "%zu bytes, not a whole superblock (%d)", size,
                              BTRFS_SUPERBLOCK_SIZE);
        if (memcmp(sb + SB_MAGIC, "_BHRfS_M", 8) != 0)
                return errmsg(why, -EBADMSG,
                              "no btrfs superblock (magic 0x%016" PRIx64 ", not \"_BHRfS_M\")",
                              le64(sb + SB_MAGIC));
        p.sector_size = le32(sb + SB_SECTORSIZE);
        if (!pow2_in(p.sector_size, 4096, 65536))
                return errmsg(why, -EBADMSG,
                              "sectorsize %" PRIu32 " (a power of two from 4096 to 65536 "
                              "expected)",
                              p.sector_size);
        p.node_size = le32(sb + SB_NODESIZE);
        if (!pow2_in(p.node_size, p.sector_size, 65536))
                return errmsg(why, -EBADMSG,
                              "nodesize %" PRIu32 " (a power of two from the sector size %" PRIu32
                              " to 65536 expected)",
                              p.node_size, p.sector_size);
        csum = le16(sb + SB_CSUM_TYPE);
        if (csum >= ELEMENTSOF(csum_names))
                return errmsg(why, -EOPNOTSUPP,
                              "csum_type %" PRIu32 " has no mkfs.btrfs --csum name known to "
                              "dual-root (a newer btrfs?)",
                              csum);
        p.csum = csum_names[csum];
        compat = le64(sb + SB_COMPAT);
        if (compat)
                return errmsg(why, -EOPNOTSUPP,
                              "flags 0x%016" PRIx64 " of compat_flags have no mkfs.btrfs name "
                              "known to dual-root (a newer btrfs?)",
                              compat);
        sets[COMPAT_RO] = le64(sb + SB_COMPAT_RO);
        sets[INCOMPAT] = le64(sb + SB_INCOMPAT);
        for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
                const struct flag *f = &flags[i];

                if (!(sets[f->set] & f->bit))
                        continue;
                sets[f->set] &= ~f->bit;
                switch (f->kind) {
                case MADE:
                        if (f->set == COMPAT_RO)
                                p.free_space_tree = true;
                        else if (strv_extend(&p.features, f->name) < 0)
                                goto nomem;
                        break;
                case IMPLIED:
                        break;
                case APART:
                        if (strv_extendf(&p.state, "%s (%s)", f->name, f->why) < 0)
                                goto nomem;
                        break;
                case REFUSED:
                        r = errmsg(why, -EOPNOTSUPP, "%s (%s 0x%" PRIx64 "): %s", f->name,
                                   set_names[f->set], f->bit, f->why);
                        goto fail;
                }
        }
        for (int s = COMPAT_RO; s <= INCOMPAT; s++)
                if (sets[s]) {
                        r = errmsg(why, -EOPNOTSUPP,
                                   "flags 0x%016" PRIx64 " of %s have no mkfs.btrfs name known "
                                   "to dual-root (a newer btrfs?)",
                                   sets[s], set_names[s]);
                        goto fail;
                }
        if (strv_contains(p.features, "mixed-bg") && p.node_size != p.sector_size) {
                r = errmsg(why, -EBADMSG,
                           "mixed-bg with nodesize %" PRIu32 " and sectorsize %" PRIu32
                           " (equal expected)",
                           p.node_size, p.sector_size);
                goto fail;
        }
        *ret = p;
        return 0;
nomem:
        r = -ENOMEM;
fail:
        btrfs_params_done(&p);
        return r;
}

int btrfs_params_read(const char *path, struct btrfs_params *ret, char **why)
{
        _cleanup_free_ uint8_t *sb = malloc(BTRFS_SUPERBLOCK_SIZE);
        ssize_t n;
        int fd, r;

        if (!sb)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errmsg(why, -errno, "cannot open %s: %s", path, strerror(errno));
        n = pread(fd, sb, BTRFS_SUPERBLOCK_SIZE, BTRFS_SUPERBLOCK_OFFSET);
        r = n < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return errmsg(why, r, "cannot read the superblock of %s: %s", path, strerror(-r));
        r = btrfs_params_parse(sb, (size_t)n, ret, why);
        return r < 0 ? errmsg_prefix(why, r, "%s", path) : 0;
}

int btrfs_params_mkfs_args(const struct btrfs_params *p, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL, **o = NULL;
        _cleanup_free_ char *list = NULL;

        if (strv_extend_strv(&o, p->features) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(default_features); i++)
                if (!strv_contains(p->features, default_features[i]) &&
                    strv_extendf(&o, "^%s", default_features[i]) < 0)
                        return -ENOMEM;
        /* o is never empty: each default is there or refused */
        list = strv_join(o, ",");
        if (!list || strv_extend(&l, "-s") < 0 ||
            strv_extendf(&l, "%" PRIu32, p->sector_size) < 0 || strv_extend(&l, "-n") < 0 ||
            strv_extendf(&l, "%" PRIu32, p->node_size) < 0 || strv_extend(&l, "--csum") < 0 ||
            strv_extend(&l, p->csum) < 0 || strv_extend(&l, "-O") < 0 ||
            strv_extend(&l, list) < 0 || strv_extend(&l, "-R") < 0 ||
            strv_extend(&l, p->free_space_tree ? "free-space-tree" : "^free-space-tree") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}
