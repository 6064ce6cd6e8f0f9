/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * libfdisk, loaded when first needed (DESIGN.md §15): only --add-disk reads or writes a
 * partition table, so the binary does not link it and every other verb (the info report, the
 * daemon) starts without it: no mapping, no relocations, no pages. fdisk-dl.c defines the
 * libfdisk functions gpt.c calls, with libfdisk.h's own prototypes, each calling the library's
 * through a pointer looked up once by fdisk_dl_open().
 */

#define FDISK_DL_SONAME "libfdisk.so.1"

/* Loads libfdisk and looks up every function we call; 0 once done (again: no-op). On failure
 * -ELIBACC (the library cannot be loaded) or -ELIBBAD (it lacks a function), *why saying which
 * and dlerror()'s reason; nothing stays loaded. */
int fdisk_dl_open(char **why);
