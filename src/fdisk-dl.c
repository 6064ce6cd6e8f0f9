/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>

#include <libfdisk.h>

#include "fdisk-dl.h"
#include "util/errmsg.h"

/*
 * Every libfdisk function gpt.c calls. Each is defined below with libfdisk.h's prototype (a
 * mismatch is a compile error) and calls the library's through dl_NAME, of the library's own
 * type (typeof). Nothing else links libfdisk, so these definitions are the only ones in the
 * program: the executable does not export them, and libfdisk's calls to itself stay inside it.
 * Before fdisk_dl_open() the constructors fail with ELIBACC and the rest, which need an object
 * only a constructor makes, do nothing.
 */
#define FDISK_DL_FUNCS(X)                                                                          \
        X(fdisk_add_partition)                                                                     \
        X(fdisk_ask_get_type)                                                                      \
        X(fdisk_assign_device)                                                                     \
        X(fdisk_create_disklabel)                                                                  \
        X(fdisk_deassign_device)                                                                   \
        X(fdisk_enable_wipe)                                                                       \
        X(fdisk_free_iter)                                                                         \
        X(fdisk_get_disklabel_id)                                                                  \
        X(fdisk_get_label)                                                                         \
        X(fdisk_get_nsectors)                                                                      \
        X(fdisk_get_partitions)                                                                    \
        X(fdisk_get_sector_size)                                                                   \
        X(fdisk_has_label)                                                                         \
        X(fdisk_is_labeltype)                                                                      \
        X(fdisk_label_get_name)                                                                    \
        X(fdisk_label_parse_parttype)                                                              \
        X(fdisk_new_context)                                                                       \
        X(fdisk_new_iter)                                                                          \
        X(fdisk_new_partition)                                                                     \
        X(fdisk_partition_get_name)                                                                \
        X(fdisk_partition_get_partno)                                                              \
        X(fdisk_partition_get_size)                                                                \
        X(fdisk_partition_get_start)                                                               \
        X(fdisk_partition_get_type)                                                                \
        X(fdisk_partition_get_uuid)                                                                \
        X(fdisk_partition_is_used)                                                                 \
        X(fdisk_partition_set_name)                                                                \
        X(fdisk_partition_set_partno)                                                              \
        X(fdisk_partition_set_size)                                                                \
        X(fdisk_partition_set_start)                                                               \
        X(fdisk_partition_set_type)                                                                \
        X(fdisk_partition_size_explicit)                                                           \
        X(fdisk_parttype_get_string)                                                               \
        X(fdisk_set_ask)                                                                           \
        X(fdisk_table_get_nents)                                                                   \
        X(fdisk_table_next_partition)                                                              \
        X(fdisk_unref_context)                                                                     \
        X(fdisk_unref_partition)                                                                   \
        X(fdisk_unref_parttype)                                                                    \
        X(fdisk_unref_table)                                                                       \
        X(fdisk_write_disklabel)

static void *fdisk_dl;
#define DL_POINTER(f) static typeof(f) *dl_##f;
FDISK_DL_FUNCS(DL_POINTER)

int fdisk_dl_open(char **why)
{
        void *h;

        if (fdisk_dl)
                return 0;
        /* Kept loaded until exit: gpt.c runs once per --add-disk. */
        h = dlopen(FDISK_DL_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return errmsg(why, -ELIBACC,
                              "cannot load %s (needed to read or write a partition table): %s",
                              FDISK_DL_SONAME, dlerror());
#define DL_LOOKUP(f)                                                                               \
        dl_##f = (typeof(dl_##f))dlsym(h, #f);                                                     \
        if (!dl_##f) {                                                                             \
                int r = errmsg(why, -ELIBBAD, "%s lacks %s: %s", FDISK_DL_SONAME, #f, dlerror());  \
                dlclose(h);                                                                        \
                return r;                                                                          \
        }
        FDISK_DL_FUNCS(DL_LOOKUP)
#undef DL_LOOKUP
        fdisk_dl = h;
        return 0;
}

int fdisk_add_partition(struct fdisk_context *cxt, struct fdisk_partition *pa, size_t *partno)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_add_partition(cxt, pa, partno);
}

int fdisk_ask_get_type(struct fdisk_ask *ask)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_ask_get_type(ask);
}

int fdisk_assign_device(struct fdisk_context *cxt, const char *fname, int readonly)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_assign_device(cxt, fname, readonly);
}

int fdisk_create_disklabel(struct fdisk_context *cxt, const char *name)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_create_disklabel(cxt, name);
}

int fdisk_deassign_device(struct fdisk_context *cxt, int nosync)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_deassign_device(cxt, nosync);
}

int fdisk_enable_wipe(struct fdisk_context *cxt, int enable)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_enable_wipe(cxt, enable);
}

void fdisk_free_iter(struct fdisk_iter *itr)
{
        if (!fdisk_dl)
                return;
        dl_fdisk_free_iter(itr);
}

int fdisk_get_disklabel_id(struct fdisk_context *cxt, char **id)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_get_disklabel_id(cxt, id);
}

struct fdisk_label *fdisk_get_label(struct fdisk_context *cxt, const char *name)
{
        if (!fdisk_dl)
                return NULL;
        return dl_fdisk_get_label(cxt, name);
}

fdisk_sector_t fdisk_get_nsectors(struct fdisk_context *cxt)
{
        if (!fdisk_dl)
                return 0;
        return dl_fdisk_get_nsectors(cxt);
}

int fdisk_get_partitions(struct fdisk_context *cxt, struct fdisk_table **tb)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_get_partitions(cxt, tb);
}

unsigned long fdisk_get_sector_size(struct fdisk_context *cxt)
{
        if (!fdisk_dl)
                return 0;
        return dl_fdisk_get_sector_size(cxt);
}

int fdisk_has_label(struct fdisk_context *cxt)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_has_label(cxt);
}

int fdisk_is_labeltype(struct fdisk_context *cxt, enum fdisk_labeltype id)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_is_labeltype(cxt, id);
}

const char *fdisk_label_get_name(const struct fdisk_label *lb)
{
        if (!fdisk_dl)
                return NULL;
        return dl_fdisk_label_get_name(lb);
}

struct fdisk_parttype *fdisk_label_parse_parttype(const struct fdisk_label *lb, const char *str)
{
        if (!fdisk_dl)
                return NULL;
        return dl_fdisk_label_parse_parttype(lb, str);
}

struct fdisk_context *fdisk_new_context(void)
{
        if (!fdisk_dl) {
                errno = ELIBACC;
                return NULL;
        }
        return dl_fdisk_new_context();
}

struct fdisk_iter *fdisk_new_iter(int direction)
{
        if (!fdisk_dl) {
                errno = ELIBACC;
                return NULL;
        }
        return dl_fdisk_new_iter(direction);
}

struct fdisk_partition *fdisk_new_partition(void)
{
        if (!fdisk_dl) {
                errno = ELIBACC;
                return NULL;
        }
        return dl_fdisk_new_partition();
}

const char *fdisk_partition_get_name(struct fdisk_partition *pa)
{
        if (!fdisk_dl)
                return NULL;
        return dl_fdisk_partition_get_name(pa);
}

size_t fdisk_partition_get_partno(struct fdisk_partition *pa)
{
        if (!fdisk_dl)
                return 0;
        return dl_fdisk_partition_get_partno(pa);
}

fdisk_sector_t fdisk_partition_get_size(struct fdisk_partition *pa)
{
        if (!fdisk_dl)
                return 0;
        return dl_fdisk_partition_get_size(pa);
}

fdisk_sector_t fdisk_partition_get_start(struct fdisk_partition *pa)
{
        if (!fdisk_dl)
                return 0;
        return dl_fdisk_partition_get_start(pa);
}

struct fdisk_parttype *fdisk_partition_get_type(struct fdisk_partition *pa)
{
        if (!fdisk_dl)
                return NULL;
        return dl_fdisk_partition_get_type(pa);
}

const char *fdisk_partition_get_uuid(struct fdisk_partition *pa)
{
        if (!fdisk_dl)
                return NULL;
        return dl_fdisk_partition_get_uuid(pa);
}

int fdisk_partition_is_used(struct fdisk_partition *pa)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_partition_is_used(pa);
}

int fdisk_partition_set_name(struct fdisk_partition *pa, const char *name)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_partition_set_name(pa, name);
}

int fdisk_partition_set_partno(struct fdisk_partition *pa, size_t num)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_partition_set_partno(pa, num);
}

int fdisk_partition_set_size(struct fdisk_partition *pa, uint64_t sz)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_partition_set_size(pa, sz);
}

int fdisk_partition_set_start(struct fdisk_partition *pa, uint64_t off)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_partition_set_start(pa, off);
}

int fdisk_partition_set_type(struct fdisk_partition *pa, struct fdisk_parttype *type)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_partition_set_type(pa, type);
}

int fdisk_partition_size_explicit(struct fdisk_partition *pa, int enable)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_partition_size_explicit(pa, enable);
}

const char *fdisk_parttype_get_string(const struct fdisk_parttype *t)
{
        if (!fdisk_dl)
                return NULL;
        return dl_fdisk_parttype_get_string(t);
}

int fdisk_set_ask(struct fdisk_context *cxt,
                  int (*ask_cb)(struct fdisk_context *, struct fdisk_ask *, void *), void *data)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_set_ask(cxt, ask_cb, data);
}

size_t fdisk_table_get_nents(struct fdisk_table *tb)
{
        if (!fdisk_dl)
                return 0;
        return dl_fdisk_table_get_nents(tb);
}

int fdisk_table_next_partition(struct fdisk_table *tb, struct fdisk_iter *itr,
                               struct fdisk_partition **pa)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_table_next_partition(tb, itr, pa);
}

void fdisk_unref_context(struct fdisk_context *cxt)
{
        if (!fdisk_dl)
                return;
        dl_fdisk_unref_context(cxt);
}

void fdisk_unref_partition(struct fdisk_partition *pa)
{
        if (!fdisk_dl)
                return;
        dl_fdisk_unref_partition(pa);
}

void fdisk_unref_parttype(struct fdisk_parttype *t)
{
        if (!fdisk_dl)
                return;
        dl_fdisk_unref_parttype(t);
}

void fdisk_unref_table(struct fdisk_table *tb)
{
        if (!fdisk_dl)
                return;
        dl_fdisk_unref_table(tb);
}

int fdisk_write_disklabel(struct fdisk_context *cxt)
{
        if (!fdisk_dl)
                return -ELIBACC;
        return dl_fdisk_write_disklabel(cxt);
}
