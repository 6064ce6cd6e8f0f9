/* SPDX-License-Identifier: MIT */
/*
 * notify-listen SOCKET OUTFILE: a stand-in for systemd's notification socket in tests.
 * Binds a datagram socket at SOCKET and appends every message received to OUTFILE, one
 * message per line group, followed by a line "--". Runs until killed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[4096];
        int fd, out;

        if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: notify-listen SOCKET OUTFILE\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("notify-listen: socket");
                return 1;
        }
        out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out < 0) {
                perror("notify-listen: output");
                return 1;
        }
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

                if (n < 0)
                        continue;
                buf[n] = 0;
                dprintf(out, "%s\n--\n", buf);
        }
}
