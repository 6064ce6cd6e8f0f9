/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file (at most max bytes; a larger file gives -EFBIG) into a NUL-terminated
 * buffer. Returns 0 or -errno; *ret and *ret_size are written only on success. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size);
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size);

/* The first line of dir/file (a sysfs attribute, say), without its newline, read whole (at
 * most 4 KiB). Returns 0 or -errno; *ret written only on success. */
int read_first_line_at(const char *dir, const char *file, char **ret);
