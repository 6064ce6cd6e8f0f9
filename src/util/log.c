/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "util/log.h"

static int max_level = LOG_INFO;
static const char *program_name = "dual-root-tool";
static int stderr_is_journal = -1; /* unknown until first use */

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_set_program_name(const char *name)
{
        program_name = name;
}

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connected to stdout/stderr. */
static bool detect_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int log_internal(int level, int error, const char *format, ...)
{
        int saved = errno;
        int e = error < 0 ? -error : error;
        va_list ap;

        if (level > max_level)
                return -e;

        if (stderr_is_journal < 0)
                stderr_is_journal = detect_journal();

        if (stderr_is_journal)
                fprintf(stderr, "<%d>", level);
        else
                fprintf(stderr, "%s: ", program_name);
        if (level == LOG_WARNING)
                fputs("warning: ", stderr);

        errno = e ? e : saved; /* for %m: the given error, else errno as it was */
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);

        errno = saved;
        return -e;
}
