/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The active swap files, from /proc/swaps (proc(5)): a header line, then one line per swap
 * area "FILENAME TYPE SIZE USED PRIORITY", the file name with the kernel's octal escapes
 * (\040 a space, \011 a tab, \012 a newline, \134 a backslash). Only areas of type "file"
 * are returned (a partition is no file of any tree). Parsing bounded and fuzzed
 * (fuzz-procswaps); the twin's sync list excludes each (DESIGN.md §12b A5).
 */

#include <stddef.h>

#define PROCSWAPS_PATH "/proc/swaps"
#define PROCSWAPS_MAX (1024 * 1024)

/* Parses size bytes of /proc/swaps text. Returns 0 with *ret the "file" areas' paths
 * (absolute, unescaped; an empty vector when none), -EBADMSG with *why naming the line and
 * what is wrong (no header, a line of fewer than five fields, a relative path, a bad escape,
 * a NUL), or -ENOMEM. */
int procswaps_parse(const char *text, size_t size, char ***ret, char **why);

/* Reads PROCSWAPS_PATH and parses it; *why names the file. */
int procswaps_files(char ***ret, char **why);
