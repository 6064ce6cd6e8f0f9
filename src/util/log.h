/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Logging to stderr. Only main.c and the daemon decide what the user sees; library modules
 * return errors (with a message through an `char **why` out-parameter where -errno alone
 * cannot say what went wrong) and log at most at debug level.
 *
 * When stderr is connected to the journal ($JOURNAL_STREAM names it), lines carry a "<N>"
 * syslog priority prefix so journald files them at the right level.
 */

#include <syslog.h>

#include "util/macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_program_name(const char *name);

/* Returns -abs(error) (or 0 when error is 0), so "return log_error_errno(r, ...)" works. %m
 * expands to strerror(abs(error)). */
int log_internal(int level, int error, const char *format, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_full(level, ...) (void)log_internal((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)
