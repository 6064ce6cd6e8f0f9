/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Writes an md superblock of metadata 1.0 (at the end of the device: anaconda's and
 * installimage's choice for an ESP, whose FAT then starts at offset 0) into a file or device,
 * for tests of the ESP-on-md refusal (DESIGN.md §11 rule S10) on a kernel without md. The layout
 * is the kernel's struct mdp_superblock_1 (include/uapi/linux/raid/md_p.h), little-endian; the
 * checksum is md's (32-bit words summed, carry folded), as mdadm writes it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

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

/* size: the device's size in bytes. Returns 0 or -1 (errno set). */
static inline int md_sb1_write(int fd, uint64_t size, const uint8_t uuid[16], bool bad_csum)
{
        uint8_t sb[256 + 2 * 2] = { 0 }; /* the superblock and two device roles */
        uint64_t sectors = size / 512, sb_sector = (sectors - 16) & ~(uint64_t)7, sum = 0;

        md_sb_put32(sb + 0, 0xa92b4efc);  /* magic */
        md_sb_put32(sb + 4, 1);           /* major_version */
        memcpy(sb + 16, uuid, 16);        /* set_uuid */
        memcpy(sb + 32, "test:esp", 8);   /* set_name */
        md_sb_put32(sb + 72, 1);          /* level: raid1 */
        md_sb_put64(sb + 80, sb_sector);  /* size */
        md_sb_put32(sb + 92, 2);          /* raid_disks */
        md_sb_put64(sb + 128, 0);         /* data_offset: the FAT at 0 */
        md_sb_put64(sb + 136, sb_sector); /* data_size */
        md_sb_put64(sb + 144, sb_sector); /* super_offset */
        md_sb_put32(sb + 160, 0);         /* dev_number */
        memcpy(sb + 168, uuid, 16);       /* device_uuid */
        sb[168] ^= 0x5a;
        md_sb_put64(sb + 200, 1);          /* events */
        md_sb_put64(sb + 208, UINT64_MAX); /* resync_offset: in sync */
        md_sb_put32(sb + 220, 2);          /* max_dev */
        sb[256] = 0;                       /* dev_roles[0] = 0 */
        sb[258] = 1;                       /* dev_roles[1] = 1 */
        for (size_t i = 0; i + 4 <= sizeof(sb); i += 4)
                sum += (uint32_t)sb[i] | (uint32_t)sb[i + 1] << 8 | (uint32_t)sb[i + 2] << 16 |
                       (uint32_t)sb[i + 3] << 24;
        md_sb_put32(sb + 216, (uint32_t)((sum & 0xffffffff) + (sum >> 32)) + (bad_csum ? 1 : 0));
        if (pwrite(fd, sb, sizeof(sb), (off_t)(sb_sector * 512)) != (ssize_t)sizeof(sb))
                return -1;
        return 0;
}
