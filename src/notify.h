/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The sd_notify protocol (systemd's sd_notify(3), documented for reimplementation): one
 * datagram of newline-separated VAR=value lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). Done natively rather than
 * with libsystemd, which would cost the idle daemon about 0.9 MiB of its 3 MiB budget.
 */

/* Sends msg. Returns 1 sent, 0 when $NOTIFY_SOCKET is unset (not under systemd), -errno. */
int notify_send(const char *msg);

/* printf-style STATUS= line (and optional other lines before it). */
int notify_sendf(const char *format, ...) __attribute__((format(printf, 1, 2)));
