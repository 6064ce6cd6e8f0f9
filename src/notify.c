/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "notify.h"
#include "util/macro.h"

int notify_send(const char *msg)
{
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        size_t n, len = strlen(msg);
        socklen_t salen;

        if (isempty(path))
                return 0;
        n = strlen(path);
        if (path[0] != '/' && path[0] != '@')
                return -EAFNOSUPPORT; /* vsock addresses are not used for system services */
        if (n >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, n);
        if (path[0] == '@')
                sa.sun_path[0] = 0; /* abstract namespace: leading NUL, no terminator */
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
                return negative_errno();
        return 1;
}

int notify_sendf(const char *format, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return notify_send(msg);
}
