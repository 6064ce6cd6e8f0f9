/* SPDX-License-Identifier: MIT */
/*
 * An xfs superblock's mkfs choices (xfsfeat.h, DESIGN.md §12b A2). The layout is the on-disk
 * superblock of the kernel's fs/xfs/libxfs/xfs_format.h (struct xfs_dsb), big endian; the
 * option names are those of mkfs.xfs(8) in xfsprogs 6.1, which xfs_info(8) prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xfsfeat.h"
#include "util/errmsg.h"
#include "util/macro.h"
#include "util/strv.h"

#define SB_MAGIC 0x00
#define SB_BLOCKSIZE 0x04
#define SB_VERSIONNUM 0x64
#define SB_SECTSIZE 0x66
#define SB_INODESIZE 0x68
#define SB_DIRBLKLOG 0xC0
#define SB_FEATURES2 0xC8
#define SB_FEATURES_COMPAT 0xD0
#define SB_FEATURES_RO_COMPAT 0xD4
#define SB_FEATURES_INCOMPAT 0xD8
#define SB_FEATURES_LOG_INCOMPAT 0xDC

/* sb_versionnum: the version in the low 4 bits, then feature bits */
#define VERSION_NUMBITS 0x000F
#define VERSION_QUOTABIT 0x0040
#define VERSION_DALIGNBIT 0x0100
#define VERSION_BORGBIT 0x4000 /* ascii-ci */
#define VERSION_MOREBITSBIT 0x8000

/* sb_features2 */
#define F2_LAZYSBCOUNT 0x0002
#define F2_ATTR2 0x0008
#define F2_PARENT 0x0010
#define F2_PROJID32 0x0080
#define F2_CRC 0x0100
#define F2_FTYPE 0x0200

/* v5 sb_features_ro_compat */
#define RO_FINOBT 0x01
#define RO_RMAPBT 0x02
#define RO_REFLINK 0x04
#define RO_INOBTCNT 0x08

/* v5 sb_features_incompat */
#define IN_FTYPE 0x01
#define IN_SPINODES 0x02
#define IN_META_UUID 0x04
#define IN_BIGTIME 0x08
#define IN_NEEDSREPAIR 0x10
#define IN_NREXT64 0x20

static uint32_t be16(const uint8_t *p)
{
        return (uint32_t)p[0] << 8 | (uint32_t)p[1];
}

static uint32_t be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static bool pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
        return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

void xfs_params_done(struct xfs_params *p)
{
        if (!p)
                return;
        strv_free(p->state);
        *p = (struct xfs_params){};
}

static int apart(struct xfs_params *p, const char *what)
{
        return strv_extend(&p->state, what);
}

/* v5: the feature fields; every bit is a choice given to mkfs.xfs, state, or refused. */
static int parse_v5(const uint8_t *sb, struct xfs_params *p, char **why)
{
        uint32_t compat = be32(sb + SB_FEATURES_COMPAT), ro = be32(sb + SB_FEATURES_RO_COMPAT),
                 in = be32(sb + SB_FEATURES_INCOMPAT), log = be32(sb + SB_FEATURES_LOG_INCOMPAT);
        uint32_t ro_known = RO_FINOBT | RO_RMAPBT | RO_REFLINK | RO_INOBTCNT;
        uint32_t in_known =
                IN_FTYPE | IN_SPINODES | IN_META_UUID | IN_BIGTIME | IN_NEEDSREPAIR | IN_NREXT64;

        if (compat)
                return errmsg(why, -EOPNOTSUPP,
                              "feature bits 0x%08" PRIx32 " of sb_features_compat have no "
                              "mkfs.xfs option known to dual-root (a newer xfs?)",
                              compat);
        if (ro & ~ro_known)
                return errmsg(why, -EOPNOTSUPP,
                              "feature bits 0x%08" PRIx32 " of sb_features_ro_compat have no "
                              "mkfs.xfs option known to dual-root (a newer xfs?)",
                              ro & ~ro_known);
        if (in & ~in_known)
                return errmsg(why, -EOPNOTSUPP,
                              "feature bits 0x%08" PRIx32 " of sb_features_incompat have no "
                              "mkfs.xfs option known to dual-root (a newer xfs?)",
                              in & ~in_known);
        if (!(in & IN_FTYPE))
                return errmsg(why, -EOPNOTSUPP,
                              "a v5 filesystem without ftype (mkfs.xfs makes none: -m crc=1 "
                              "needs -n ftype=1)");
        if ((ro & RO_INOBTCNT) && !(ro & RO_FINOBT))
                return errmsg(why, -EBADMSG,
                              "inobtcount without finobt (sb_features_ro_compat "
                              "0x%08" PRIx32 ")",
                              ro);
        p->ftype = true;
        p->finobt = ro & RO_FINOBT;
        p->rmapbt = ro & RO_RMAPBT;
        p->reflink = ro & RO_REFLINK;
        p->inobtcount = ro & RO_INOBTCNT;
        p->sparse = in & IN_SPINODES;
        p->bigtime = in & IN_BIGTIME;
        p->nrext64 = in & IN_NREXT64;
        p->lazy_count = p->projid32bit = true;
        if ((in & IN_META_UUID) &&
            apart(p, "meta_uuid (state: the UUID was changed after mkfs)") < 0)
                return -ENOMEM;
        if ((in & IN_NEEDSREPAIR) && apart(p, "needsrepair (state: xfs_repair must run)") < 0)
                return -ENOMEM;
        if (log) {
                _cleanup_free_ char *s = NULL;

                if (asprintf(&s, "sb_features_log_incompat 0x%08" PRIx32 " (state: the log's)",
                             log) < 0 ||
                    apart(p, s) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int xfs_params_parse(const void *data, size_t size, struct xfs_params *ret, char **why)
{
        const uint8_t *sb = data;
        struct xfs_params p = {};
        uint32_t vn, f2 = 0, dirblklog;
        int r;

        if (size < XFS_SUPERBLOCK_SIZE)
                return errmsg(why, -EBADMSG, "%zu bytes, not a whole superblock sector (%d)", size,
                              XFS_SUPERBLOCK_SIZE);
        if (memcmp(sb + SB_MAGIC, "XFSB", 4) != 0)
                return errmsg(why, -EBADMSG,
                              "no xfs superblock (magic 0x%08" PRIx32 ", not 0x58465342 \"XFSB\")",
                              be32(sb + SB_MAGIC));
        vn = be16(sb + SB_VERSIONNUM);
        p.version = vn & VERSION_NUMBITS;
        if (p.version < 4 || p.version > 5)
                return errmsg(why, p.version > 5 ? -EOPNOTSUPP : -EBADMSG,
                              "sb_versionnum 0x%04" PRIx32 ": version %u (mkfs.xfs makes 4 and 5)",
                              vn, p.version);
        p.block_size = be32(sb + SB_BLOCKSIZE);
        if (!pow2_in(p.block_size, 512, 65536))
                return errmsg(why, -EBADMSG,
                              "sb_blocksize %" PRIu32 " (a power of two from 512 to 65536 "
                              "expected)",
                              p.block_size);
        p.sect_size = be16(sb + SB_SECTSIZE);
        if (!pow2_in(p.sect_size, 512, 32768) || p.sect_size > p.block_size)
                return errmsg(why, -EBADMSG,
                              "sb_sectsize %" PRIu32 " (a power of two from 512 to 32768, at "
                              "most the block size %" PRIu32 ", expected)",
                              p.sect_size, p.block_size);
        p.inode_size = be16(sb + SB_INODESIZE);
        if (!pow2_in(p.inode_size, 256, 2048) || p.inode_size > p.block_size / 2)
                return errmsg(why, -EBADMSG,
                              "sb_inodesize %" PRIu32 " (a power of two from 256 to 2048, at "
                              "most half the block size %" PRIu32 ", expected)",
                              p.inode_size, p.block_size);
        dirblklog = sb[SB_DIRBLKLOG];
        if (dirblklog > 7 || (p.block_size << dirblklog) > 65536)
                return errmsg(why, -EBADMSG,
                              "sb_dirblklog %" PRIu32 " with sb_blocksize %" PRIu32
                              " (directory blocks up to 65536 bytes expected)",
                              dirblklog, p.block_size);
        p.dir_block_size = p.block_size << dirblklog;
        p.ascii_ci = vn & VERSION_BORGBIT;
        if (vn & VERSION_MOREBITSBIT)
                f2 = be32(sb + SB_FEATURES2);
        if (p.version == 5) {
                if (!(f2 & F2_CRC))
                        return errmsg(why, -EBADMSG,
                                      "a version 5 superblock without the crc bit of "
                                      "sb_features2 (0x%08" PRIx32 ")",
                                      f2);
                r = parse_v5(sb, &p, why);
                if (r < 0)
                        goto fail;
        } else {
                if (f2 & F2_CRC)
                        return errmsg(why, -EBADMSG,
                                      "a version 4 superblock with the crc bit of sb_features2 "
                                      "(0x%08" PRIx32 ")",
                                      f2);
                if (f2 & F2_PARENT)
                        return errmsg(why, -EOPNOTSUPP,
                                      "parent pointers (sb_features2 0x%08" PRIx32
                                      "): mkfs.xfs 6.1 makes none",
                                      f2);
                if (!(f2 & F2_ATTR2))
                        return errmsg(why, -EOPNOTSUPP,
                                      "attr1 (sb_features2 0x%08" PRIx32
                                      " lacks attr2): mkfs.xfs 6.1 makes only attr2",
                                      f2);
                p.ftype = f2 & F2_FTYPE;
                p.lazy_count = f2 & F2_LAZYSBCOUNT;
                p.projid32bit = f2 & F2_PROJID32;
        }
        if ((vn & VERSION_QUOTABIT) &&
            apart(&p, "quota (state: quota inodes, made by mounting with quota options)") < 0)
                goto nomem;
        if ((vn & VERSION_DALIGNBIT) &&
            apart(&p, "dalign (a stripe unit: mkfs.xfs takes it from the new device)") < 0)
                goto nomem;
        *ret = p;
        return 0;
nomem:
        r = -ENOMEM;
fail:
        xfs_params_done(&p);
        return r;
}

int xfs_params_read(const char *path, struct xfs_params *ret, char **why)
{
        uint8_t sb[XFS_SUPERBLOCK_SIZE];
        ssize_t n;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errmsg(why, -errno, "cannot open %s: %s", path, strerror(errno));
        n = pread(fd, sb, sizeof(sb), 0);
        r = n < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return errmsg(why, r, "cannot read the superblock of %s: %s", path, strerror(-r));
        r = xfs_params_parse(sb, (size_t)n, ret, why);
        return r < 0 ? errmsg_prefix(why, r, "%s", path) : 0;
}

int xfs_params_mkfs_args(const struct xfs_params *p, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        const char *ci = p->ascii_ci ? ",version=ci" : "";
        int r;

        r = strv_extend(&l, "-b");
        if (r >= 0)
                r = strv_extendf(&l, "size=%" PRIu32, p->block_size);
        if (r >= 0)
                r = strv_extend(&l, "-s");
        if (r >= 0)
                r = strv_extendf(&l, "size=%" PRIu32, p->sect_size);
        if (r >= 0)
                r = strv_extend(&l, "-m");
        if (r >= 0 && p->version == 5) {
                r = strv_extendf(&l,
                                 "crc=1,finobt=%d,rmapbt=%d,reflink=%d,bigtime=%d,inobtcount=%d",
                                 p->finobt, p->rmapbt, p->reflink, p->bigtime, p->inobtcount);
                if (r >= 0)
                        r = strv_extend(&l, "-i");
                if (r >= 0)
                        r = strv_extendf(&l, "size=%" PRIu32 ",sparse=%d,nrext64=%d", p->inode_size,
                                         p->sparse, p->nrext64);
        } else if (r >= 0) {
                r = strv_extend(&l, "crc=0");
                if (r >= 0)
                        r = strv_extend(&l, "-i");
                if (r >= 0)
                        r = strv_extendf(&l, "size=%" PRIu32 ",projid32bit=%d", p->inode_size,
                                         p->projid32bit);
                if (r >= 0)
                        r = strv_extend(&l, "-l");
                if (r >= 0)
                        r = strv_extendf(&l, "lazy-count=%d", p->lazy_count);
        }
        if (r >= 0)
                r = strv_extend(&l, "-n");
        if (r >= 0)
                r = strv_extendf(&l, "size=%" PRIu32 ",ftype=%d%s", p->dir_block_size, p->ftype,
                                 ci);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}
