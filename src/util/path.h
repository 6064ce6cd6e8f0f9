/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Path strings, compared as text (nothing here touches the filesystem). Both keep a lone "/"
 * and return a new string, NULL on ENOMEM.
 */

/* Without trailing slashes: "/efi0/" -> "/efi0". How paths are matched with mount table
 * targets, which the kernel writes this way. */
char *path_strip_trailing_slashes(const char *path);

/* Also with each run of slashes made one: "//efi0//" -> "/efi0". Two paths that normalize
 * equal name the same directory (symbolic links aside). */
char *path_normalize(const char *path);
