/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * rsync-style exclusion patterns matched against a path relative to the transfer root (no
 * leading '/'): "/a/b" anchors at the root, "a/b" matches a trailing part of the path that
 * starts at a component boundary, "name" matches the last component; a trailing '/' makes a
 * pattern match directories only. Wildcards as fnmatch(3) with FNM_PATHNAME. This covers
 * what sync lists use; rsync's "**" and "+"/"-" rule prefixes are not interpreted, so such a
 * pattern only ever matches more conservatively (a change is noticed, never missed).
 */
bool exclude_match(char *const *patterns, const char *rel, bool is_dir);
