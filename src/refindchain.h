/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rEFInd's chain on one disk, as if the other disk were gone (DESIGN.md §11b): refind.conf
 * beside the rEFInd binary, its manual stanzas (volume, loader, initrd, options), the
 * kernels its scan would find on this disk's filesystems (with the initrd matching each
 * kernel's version and the options of refind_linux.conf beside it), the filesystem drivers
 * a non-FAT volume needs, and the default selection.
 */

#include "loaderchain.h"

/* Follows rEFInd's chain from conf (a path on fss[start], the ESP rEFInd runs from).
 * Returns 0 with *ret filled, or -ENOMEM. */
int refind_chain_check(const struct chain_fs *fss, size_t n_fs, size_t start, const char *conf,
                       struct chain_result *ret);

/* The path of refind.conf on an ESP if one of rEFInd's places holds one (EFI/refind/,
 * EFI/BOOT/), else NULL (static). */
const char *refind_find_conf(int esp_fd);
