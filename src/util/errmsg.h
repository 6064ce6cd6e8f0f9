/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Failure context. Functions whose -errno alone cannot say what went wrong take a trailing
 * `char **why` (may be NULL). On failure they set *why to an allocated sentence without a
 * trailing period, naming the object and the cause, e.g.
 *     "Boot0003: FilePathListLength 120 exceeds the 40 bytes left"
 * and return the negative errno. On success *why is left untouched.
 */

#include "util/macro.h"

/* Frees any previous *why, stores the formatted message, returns r. If allocation fails,
 * *why becomes NULL and r is still returned: callers print "unknown reason" then. */
int errmsg(char **why, int r, const char *format, ...) _printf_(3, 4);

/* Prefixes an existing *why with a formatted context: "ctx: old". Returns r. */
int errmsg_prefix(char **why, int r, const char *format, ...) _printf_(3, 4);
