/* SPDX-License-Identifier: MIT */
/*
 * An ext2/3/4 superblock's mkfs choices (e2fsfeat.h, DESIGN.md §12b A2). The layout is the
 * kernel's struct ext4_super_block (Documentation/filesystems/ext4/super.rst), little endian;
 * the feature names are those mke2fs(8) and ext4(5) use, which dumpe2fs prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2fsfeat.h"
#include "util/errmsg.h"
#include "util/macro.h"
#include "util/strv.h"

#define SB_LOG_BLOCK_SIZE 0x18
#define SB_LOG_CLUSTER_SIZE 0x1C
#define SB_MAGIC 0x38
#define SB_REV_LEVEL 0x4C
#define SB_INODE_SIZE 0x58
#define SB_FEATURE_COMPAT 0x5C
#define SB_FEATURE_INCOMPAT 0x60
#define SB_FEATURE_RO_COMPAT 0x64
#define E2FS_MAGIC 0xEF53

enum { COMPAT, INCOMPAT, RO_COMPAT };

/* Why a feature is set apart (not passed to mke2fs), or NULL: a choice, made alike. */
static const struct feature {
        int set;
        uint32_t bit;
        const char *name;
        const char *apart;
} features[] = {
        { COMPAT, 0x0001, "dir_prealloc", NULL },
        { COMPAT, 0x0002, "imagic_inodes", NULL },
        { COMPAT, 0x0004, "has_journal", NULL },
        { COMPAT, 0x0008, "ext_attr", NULL },
        { COMPAT, 0x0010, "resize_inode", NULL },
        { COMPAT, 0x0020, "dir_index", NULL },
        { COMPAT, 0x0040, "lazy_bg", NULL },
        { COMPAT, 0x0080, "snapshot_exclude_inode", "state (an old snapshot patch's)" },
        { COMPAT, 0x0100, "snapshot_bitmap", "state (an old snapshot patch's)" },
        { COMPAT, 0x0200, "sparse_super2", NULL },
        { COMPAT, 0x0400, "fast_commit", NULL },
        { COMPAT, 0x0800, "stable_inodes", NULL },
        { COMPAT, 0x1000, "orphan_file", NULL },
        { INCOMPAT, 0x0001, "compression", "not made by mke2fs" },
        { INCOMPAT, 0x0002, "filetype", NULL },
        { INCOMPAT, 0x0004, "needs_recovery", "state (the journal holds transactions)" },
        { INCOMPAT, 0x0008, "journal_dev", "an external journal, not a filesystem" },
        { INCOMPAT, 0x0010, "meta_bg", NULL },
        { INCOMPAT, 0x0040, "extent", NULL },
        { INCOMPAT, 0x0080, "64bit", NULL },
        { INCOMPAT, 0x0100, "mmp", NULL },
        { INCOMPAT, 0x0200, "flex_bg", NULL },
        { INCOMPAT, 0x0400, "ea_inode", NULL },
        { INCOMPAT, 0x1000, "dirdata", "not made by mke2fs (Lustre)" },
        { INCOMPAT, 0x2000, "metadata_csum_seed", NULL },
        { INCOMPAT, 0x4000, "large_dir", NULL },
        { INCOMPAT, 0x8000, "inline_data", NULL },
        { INCOMPAT, 0x10000, "encrypt", NULL },
        { INCOMPAT, 0x20000, "casefold", NULL },
        { RO_COMPAT, 0x0001, "sparse_super", NULL },
        { RO_COMPAT, 0x0002, "large_file", NULL },
        { RO_COMPAT, 0x0004, "btree_dir", "never used by any kernel" },
        { RO_COMPAT, 0x0008, "huge_file", NULL },
        { RO_COMPAT, 0x0010, "uninit_bg", NULL },
        { RO_COMPAT, 0x0020, "dir_nlink", NULL },
        { RO_COMPAT, 0x0040, "extra_isize", NULL },
        { RO_COMPAT, 0x0080, "snapshot", "state (an old snapshot patch's)" },
        { RO_COMPAT, 0x0100, "quota", NULL },
        { RO_COMPAT, 0x0200, "bigalloc", NULL },
        { RO_COMPAT, 0x0400, "metadata_csum", NULL },
        { RO_COMPAT, 0x0800, "replica", "not made by mke2fs" },
        { RO_COMPAT, 0x1000, "read-only", "state (the twin is written by every sync)" },
        { RO_COMPAT, 0x2000, "project", NULL },
        { RO_COMPAT, 0x4000, "shared_blocks",
          "state (blocks shared by e2fsck -E unshare's opposite)" },
        { RO_COMPAT, 0x8000, "verity", NULL },
        { RO_COMPAT, 0x10000, "orphan_present", "state (the orphan file holds inodes)" },
};

static const char *const set_names[] = { "compat", "incompat", "ro_compat" };

static uint32_t le16(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void e2fs_params_done(struct e2fs_params *p)
{
        if (!p)
                return;
        strv_free(p->features);
        strv_free(p->state);
        *p = (struct e2fs_params){};
}

int e2fs_params_parse(const void *data, size_t size, struct e2fs_params *ret, char **why)
{
        const uint8_t *sb = data;
        struct e2fs_params p = {};
        uint32_t log_block, log_cluster, rev, sets[3];
        int r;

        if (size < E2FS_SUPERBLOCK_SIZE)
                return errmsg(why, -EBADMSG, "%zu bytes, not a whole superblock (%d)", size,
                              E2FS_SUPERBLOCK_SIZE);
        if (le16(sb + SB_MAGIC) != E2FS_MAGIC)
                return errmsg(why, -EBADMSG, "no ext2/3/4 superblock (magic 0x%04x, not 0x%04x)",
                              (unsigned)le16(sb + SB_MAGIC), E2FS_MAGIC);
        log_block = le32(sb + SB_LOG_BLOCK_SIZE);
        if (log_block > 6) /* 1024 << 6: 64 KiB, mke2fs's largest */
                return errmsg(why, -EBADMSG,
                              "s_log_block_size %" PRIu32 " (block size above 64 KiB)", log_block);
        p.block_size = UINT32_C(1024) << log_block;
        rev = le32(sb + SB_REV_LEVEL);
        if (rev > 1)
                return errmsg(why, -EBADMSG, "s_rev_level %" PRIu32 " (0 or 1 expected)", rev);
        if (rev == 0) {
                /* the original format: 128-byte inodes, no feature fields */
                p.inode_size = 128;
                *ret = p;
                return 0;
        }
        p.inode_size = le16(sb + SB_INODE_SIZE);
        if (p.inode_size < 128 || p.inode_size > p.block_size ||
            (p.inode_size & (p.inode_size - 1)) != 0)
                return errmsg(why, -EBADMSG,
                              "s_inode_size %" PRIu32 " (a power of two from 128 to the block "
                              "size %" PRIu32 " expected)",
                              p.inode_size, p.block_size);
        sets[COMPAT] = le32(sb + SB_FEATURE_COMPAT);
        sets[INCOMPAT] = le32(sb + SB_FEATURE_INCOMPAT);
        sets[RO_COMPAT] = le32(sb + SB_FEATURE_RO_COMPAT);
        for (size_t i = 0; i < ELEMENTSOF(features); i++) {
                const struct feature *f = &features[i];

                if (!(sets[f->set] & f->bit))
                        continue;
                sets[f->set] &= ~f->bit;
                r = strv_extend(f->apart ? &p.state : &p.features, f->name);
                if (r < 0)
                        goto fail;
        }
        for (int s = COMPAT; s <= RO_COMPAT; s++)
                if (sets[s]) {
                        r = errmsg(why, -EOPNOTSUPP,
                                   "feature bits 0x%08" PRIx32 " of s_feature_%s have no mke2fs "
                                   "name known to dual-root (a newer ext4?)",
                                   sets[s], set_names[s]);
                        goto fail;
                }
        if (strv_contains(p.features, "bigalloc")) {
                log_cluster = le32(sb + SB_LOG_CLUSTER_SIZE);
                if (log_cluster < log_block || log_cluster > log_block + 16) {
                        r = errmsg(why, -EBADMSG,
                                   "s_log_cluster_size %" PRIu32 " with s_log_block_size %" PRIu32
                                   " (a cluster of 1 to 65536 blocks expected)",
                                   log_cluster, log_block);
                        goto fail;
                }
                p.cluster_size = UINT32_C(1024) << log_cluster;
        }
        *ret = p;
        return 0;
fail:
        e2fs_params_done(&p);
        return r;
}

int e2fs_params_read(const char *path, struct e2fs_params *ret, char **why)
{
        uint8_t sb[E2FS_SUPERBLOCK_SIZE];
        ssize_t n;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errmsg(why, -errno, "cannot open %s: %s", path, strerror(errno));
        n = pread(fd, sb, sizeof(sb), E2FS_SUPERBLOCK_OFFSET);
        r = n < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return errmsg(why, r, "cannot read the superblock of %s: %s", path, strerror(-r));
        r = e2fs_params_parse(sb, (size_t)n, ret, why);
        return r < 0 ? errmsg_prefix(why, r, "%s", path) : 0;
}

int e2fs_params_mkfs_args(const struct e2fs_params *p, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *list = NULL, *o = NULL;

        if (strv_extend(&l, "-b") < 0 || strv_extendf(&l, "%" PRIu32, p->block_size) < 0 ||
            strv_extend(&l, "-I") < 0 || strv_extendf(&l, "%" PRIu32, p->inode_size) < 0)
                return -ENOMEM;
        if (p->cluster_size &&
            (strv_extend(&l, "-C") < 0 || strv_extendf(&l, "%" PRIu32, p->cluster_size) < 0))
                return -ENOMEM;
        list = strv_length(p->features) ? strv_join(p->features, ",") : strdup("");
        if (!list || asprintf(&o, "none%s%s", *list ? "," : "", list) < 0)
                return -ENOMEM;
        if (strv_extend(&l, "-O") < 0 || strv_push(&l, o) < 0)
                return -ENOMEM;
        o = NULL; /* l holds it */
        *ret = TAKE_PTR(l);
        return 0;
}
