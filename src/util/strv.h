/* SPDX-License-Identifier: MIT */
#pragma once

/* NULL-terminated string vectors. A NULL vector is a valid empty vector. */

#include <stddef.h>

#include "util/macro.h"

char **strv_free(char **l);
static inline void strv_freep(char ***l)
{
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);

/* Appends a copy of s. Returns 0 or -ENOMEM (the vector is unchanged then). */
int strv_extend(char ***l, const char *s);
/* Appends a formatted string. Returns 0 or -ENOMEM (the vector is unchanged then). */
int strv_extendf(char ***l, const char *format, ...) _printf_(2, 3);
/* Appends s itself, taking ownership on success only. */
int strv_push(char ***l, char *s);
/* Appends copies of every string of other. */
int strv_extend_strv(char ***l, char *const *other);
char **strv_copy(char *const *l);
/* Splits on blanks (space, tab, newline), dropping empty words. Returns 0 or -ENOMEM. */
int strv_split_blank(const char *s, char ***ret);
/* Sorts in place by strcmp. */
void strv_sort(char **l);
/* Joins with sep into an allocated string; NULL on ENOMEM. */
char *strv_join(char *const *l, const char *sep);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
