/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Writes an md superblock (metadata 1.x) into a file or device, for tests on a kernel without
 * md: metadata 1.0 at the end of the device (anaconda's and installimage's choice for an ESP,
 * whose FAT then starts at offset 0: the ESP-on-md refusal, DESIGN.md §11 rule S10), or 1.2
 * at 4 KiB with the data behind it (the VM's md RAID1 root, tests/vm/build-image-md). The
 * layout is the kernel's struct mdp_superblock_1 (include/uapi/linux/raid/md_p.h),
 * little-endian, a raid1 whose members are all in sync; the checksum is md's (32-bit words
 * summed, the carry folded in), which the kernel and mdadm verify.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

struct md_sb_params {
        uint64_t dev_sectors;   /* the member device's size */
        int minor;              /* 0: superblock at the end, data at 0; 2: at 8, data behind */
        uint64_t data_offset;   /* 1.2: where the data starts (sectors) */
        uint64_t array_sectors; /* used per member; 0: all the data area */
        uint32_t raid_disks;    /* 2 */
        uint32_t dev_number;    /* this member's index (its role, in sync) */
        uint8_t uuid[16];       /* the array's */
        uint8_t dev_uuid[16];   /* this member's */
        const char *name;       /* "host:name", at most 31 bytes */
};

static inline void md_sb_put32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static inline void md_sb_put64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

/* Returns 0, or -1 with errno set. */
static inline int md_sb_write(int fd, const struct md_sb_params *p)
{
        uint8_t sb[512] = { 0 }; /* the superblock and the roles of up to 128 devices */
        uint64_t sb_sector, data_offset, data_size, sum = 0;
        size_t len = 256 + 2 * (size_t)p->raid_disks;

        if (p->raid_disks == 0 || p->raid_disks > 128 || p->dev_number >= p->raid_disks) {
                errno = EINVAL;
                return -1;
        }
        if (p->minor == 0) {
                sb_sector = (p->dev_sectors - 16) & ~(uint64_t)7;
                data_offset = 0;
                data_size = sb_sector;
        } else {
                sb_sector = 8;
                data_offset = p->data_offset;
                if (data_offset < 16 || data_offset >= p->dev_sectors) {
                        errno = EINVAL;
                        return -1;
                }
                data_size = p->dev_sectors - data_offset;
        }
        md_sb_put32(sb + 0, 0xa92b4efc);                                       /* magic */
        md_sb_put32(sb + 4, 1);                                                /* major_version */
        memcpy(sb + 16, p->uuid, 16);                                          /* set_uuid */
        strncpy((char *)sb + 32, p->name, 31);                                 /* set_name */
        md_sb_put64(sb + 64, 1700000000);                                      /* ctime */
        md_sb_put32(sb + 72, 1);                                               /* level: raid1 */
        md_sb_put64(sb + 80, p->array_sectors ? p->array_sectors : data_size); /* size */
        md_sb_put32(sb + 92, p->raid_disks);                                   /* raid_disks */
        md_sb_put64(sb + 128, data_offset);                                    /* data_offset */
        md_sb_put64(sb + 136, data_size);                                      /* data_size */
        md_sb_put64(sb + 144, sb_sector);                                      /* super_offset */
        md_sb_put32(sb + 160, p->dev_number);                                  /* dev_number */
        memcpy(sb + 168, p->dev_uuid, 16);                                     /* device_uuid */
        md_sb_put64(sb + 192, 1700000000);                                     /* utime */
        md_sb_put64(sb + 200, 1);                                              /* events */
        md_sb_put64(sb + 208, UINT64_MAX);             /* resync_offset: in sync */
        md_sb_put32(sb + 220, p->raid_disks);          /* max_dev */
        for (uint32_t i = 0; i < p->raid_disks; i++) { /* dev_roles: device i in slot i */
                sb[256 + 2 * i] = (uint8_t)i;
                sb[256 + 2 * i + 1] = 0;
        }
        for (size_t i = 0; i + 4 <= len; i += 4)
                sum += (uint32_t)sb[i] | (uint32_t)sb[i + 1] << 8 | (uint32_t)sb[i + 2] << 16 |
                       (uint32_t)sb[i + 3] << 24;
        if (len % 4)
                sum += (uint32_t)sb[len - 2] | (uint32_t)sb[len - 1] << 8;
        md_sb_put32(sb + 216, (uint32_t)((sum & 0xffffffff) + (sum >> 32)));
        if (pwrite(fd, sb, sizeof(sb), (off_t)(sb_sector * 512)) != (ssize_t)sizeof(sb))
                return -1;
        return 0;
}

/* The ESP case: metadata 1.0, member 0 of a two-member raid1. */
static inline int md_sb1_write(int fd, uint64_t size, const uint8_t uuid[16])
{
        struct md_sb_params p = {
                .dev_sectors = size / 512, .minor = 0, .raid_disks = 2, .name = "test:esp"
        };

        memcpy(p.uuid, uuid, 16);
        memcpy(p.dev_uuid, uuid, 16);
        p.dev_uuid[0] ^= 0x5a;
        return md_sb_write(fd, &p);
}
