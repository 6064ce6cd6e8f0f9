/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Files in a directory tree made per test (mkdtemp), for the loader chain tests: text files,
 * plausible loader images (tests/tools/loaderimage.h, as DESIGN.md §11 S8 judges them), and
 * the tree's removal. Include after cmocka.h.
 */

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "util/macro.h"
#include "../tools/loaderimage.h"

#define TREE_IMAGE_SIZE (64 * 1024)

/* Creates the directories leading to path below dir_fd. */
static inline void tree_mkdirs(int dir_fd, const char *path)
{
        _cleanup_free_ char *copy = strdup(path);

        assert_non_null(copy);
        for (char *p = strchr(copy, '/'); p; p = strchr(p + 1, '/')) {
                *p = '\0';
                (void)mkdirat(dir_fd, copy, 0755);
                *p = '/';
        }
}

static inline void tree_write(int dir_fd, const char *path, const void *data, size_t size)
{
        int fd;

        tree_mkdirs(dir_fd, path);
        (void)unlinkat(dir_fd, path, 0);
        fd = openat(dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t)size);
        close(fd);
}

static inline void put(int dir_fd, const char *path, const char *text)
{
        tree_write(dir_fd, path, text, strlen(text));
}

/* kind: "kernel", "initrd", else an EFI program. */
static inline void put_image(int dir_fd, const char *path, const char *kind)
{
        uint8_t *b = calloc(1, TREE_IMAGE_SIZE);

        assert_non_null(b);
        assert_int_equal(streq(kind, "kernel")   ? li_kernel(b, TREE_IMAGE_SIZE)
                         : streq(kind, "initrd") ? li_initrd(b, TREE_IMAGE_SIZE)
                                                 : li_efi(b, TREE_IMAGE_SIZE, 0),
                         0);
        tree_write(dir_fd, path, b, TREE_IMAGE_SIZE);
        free(b);
}

static inline int tree_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static inline void tree_remove(const char *dir)
{
        (void)nftw(dir, tree_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
