/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <strings.h>

#include <libfdisk.h>

#include "fdisk-dl.h"
#include "gpt.h"
#include "util/errmsg.h"

static void fdisk_unref_contextp(struct fdisk_context **c)
{
        fdisk_unref_context(*c);
}
static void fdisk_unref_tablep(struct fdisk_table **t)
{
        fdisk_unref_table(*t);
}
static void fdisk_free_iterp(struct fdisk_iter **i)
{
        fdisk_free_iter(*i);
}
static void fdisk_unref_partitionp(struct fdisk_partition **p)
{
        fdisk_unref_partition(*p);
}
static void fdisk_unref_parttypep(struct fdisk_parttype **p)
{
        fdisk_unref_parttype(*p);
}

void gpt_layout_done(struct gpt_layout *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->parts[i].type);
                free(l->parts[i].uuid);
                free(l->parts[i].name);
        }
        free(l->parts);
        free(l->disk_guid);
        *l = (struct gpt_layout){};
}

static char *strdup_lower(const char *s)
{
        char *d = s ? strdup(s) : NULL;

        for (char *p = d; p && *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return d;
}

/* libfdisk reports through a dialog callback; we ask nothing and show nothing (the caller
 * decides what is printed), and any question is answered "no". */
static int ask_nothing(struct fdisk_context *cxt, struct fdisk_ask *ask, void *data)
{
        (void)cxt;
        (void)data;
        switch (fdisk_ask_get_type(ask)) {
        case FDISK_ASKTYPE_INFO:
        case FDISK_ASKTYPE_WARN:
        case FDISK_ASKTYPE_WARNX:
                return 0;
        default:
                return -EINVAL;
        }
}

/* The layout of the table cxt holds. */
static int layout_of(struct fdisk_context *cxt, const char *dev, struct gpt_layout *ret, char **why)
{
        _cleanup_(fdisk_unref_tablep) struct fdisk_table *tb = NULL;
        _cleanup_(fdisk_free_iterp) struct fdisk_iter *it = NULL;
        _cleanup_(gpt_layout_done) struct gpt_layout l = {};
        _cleanup_free_ char *id = NULL;
        struct fdisk_partition *pa;
        int r;

        l.sector_size = fdisk_get_sector_size(cxt);
        l.nsectors = fdisk_get_nsectors(cxt);
        r = fdisk_get_disklabel_id(cxt, &id);
        if (r < 0)
                return errmsg(why, r, "cannot read the disk GUID of %s: %s", dev, strerror(-r));
        l.disk_guid = strdup_lower(id);
        r = fdisk_get_partitions(cxt, &tb);
        if (r < 0)
                return errmsg(why, r, "cannot read the partitions of %s: %s", dev, strerror(-r));
        l.parts = calloc(fdisk_table_get_nents(tb) + 1, sizeof(*l.parts));
        it = fdisk_new_iter(FDISK_ITER_FORWARD);
        if (!l.disk_guid || !l.parts || !it)
                return -ENOMEM;
        while (fdisk_table_next_partition(tb, it, &pa) == 0) {
                struct fdisk_parttype *t = fdisk_partition_get_type(pa);
                struct gpt_part *p = &l.parts[l.n];
                const char *name = fdisk_partition_get_name(pa);

                if (!fdisk_partition_is_used(pa))
                        continue;
                p->partno = fdisk_partition_get_partno(pa);
                p->start = fdisk_partition_get_start(pa);
                p->size = fdisk_partition_get_size(pa);
                p->type = strdup_lower(t ? fdisk_parttype_get_string(t) : "");
                p->uuid = strdup_lower(fdisk_partition_get_uuid(pa));
                p->name = !isempty(name) ? strdup(name) : NULL;
                l.n++;
                if (!p->type || !p->uuid || (!isempty(name) && !p->name))
                        return -ENOMEM;
        }
        *ret = l;
        l = (struct gpt_layout){};
        return 0;
}

int gpt_read(const char *dev, struct gpt_layout *ret, char **why)
{
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *cxt = NULL;
        int r;

        r = fdisk_dl_open(why);
        if (r < 0)
                return r;
        cxt = fdisk_new_context();
        if (!cxt)
                return -ENOMEM;
        fdisk_set_ask(cxt, ask_nothing, NULL);
        r = fdisk_assign_device(cxt, dev, 1);
        if (r < 0)
                return errmsg(why, r, "cannot open %s: %s", dev, strerror(-r));
        if (!fdisk_has_label(cxt))
                return errmsg(why, -ENODATA, "%s has no partition table", dev);
        if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT))
                return errmsg(why, -EMEDIUMTYPE, "%s has a partition table that is not GPT (%s)",
                              dev, fdisk_label_get_name(fdisk_get_label(cxt, NULL)));
        return layout_of(cxt, dev, ret, why);
}

/* Sectors a GPT needs at the end of the disk: the backup entry array (128 entries of 128
 * bytes) and the backup header. */
static uint64_t backup_sectors(unsigned long sector_size)
{
        uint64_t ss = sector_size ? sector_size : 512;

        return (128 * 128 + ss - 1) / ss + 1;
}

uint64_t gpt_layout_min_bytes(const struct gpt_layout *l)
{
        uint64_t end = 0;

        for (size_t i = 0; i < l->n; i++)
                if (l->parts[i].start + l->parts[i].size > end)
                        end = l->parts[i].start + l->parts[i].size;
        return (end + backup_sectors(l->sector_size)) * l->sector_size;
}

bool gpt_layout_same(const struct gpt_layout *a, const struct gpt_layout *b, char **why)
{
        if (a->sector_size != b->sector_size) {
                errmsg(why, 0, "sector size %lu, not %lu", b->sector_size, a->sector_size);
                return false;
        }
        if (a->n != b->n) {
                errmsg(why, 0, "%zu partition(s), not %zu", b->n, a->n);
                return false;
        }
        for (size_t i = 0; i < a->n; i++) {
                const struct gpt_part *p = &a->parts[i], *q = &b->parts[i];

                if (p->partno != q->partno || p->start != q->start || p->size != q->size ||
                    strcasecmp(p->type, q->type) != 0) {
                        errmsg(why, 0,
                               "partition %zu starts at sector %" PRIu64 ", is %" PRIu64
                               " sectors long, of type %s; expected partition %zu at %" PRIu64
                               ", %" PRIu64 " sectors, type %s",
                               q->partno + 1, q->start, q->size, q->type, p->partno + 1, p->start,
                               p->size, p->type);
                        return false;
                }
        }
        return true;
}

const struct gpt_part *gpt_layout_find_type(const struct gpt_layout *l, const char *type)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcasecmp(l->parts[i].type, type) == 0)
                        return &l->parts[i];
        return NULL;
}

const struct gpt_part *gpt_layout_find_partno(const struct gpt_layout *l, size_t partno)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->parts[i].partno == partno)
                        return &l->parts[i];
        return NULL;
}

int gpt_write_like(const char *dev, const struct gpt_layout *src, bool test, struct gpt_layout *ret,
                   char **why)
{
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *cxt = NULL;
        struct fdisk_label *lb;
        uint64_t need;
        int r;

        r = fdisk_dl_open(why);
        if (r < 0)
                return r;
        cxt = fdisk_new_context();
        if (!cxt)
                return -ENOMEM;
        fdisk_set_ask(cxt, ask_nothing, NULL);
        r = fdisk_assign_device(cxt, dev, test);
        if (r < 0)
                return errmsg(why, r, "cannot open %s%s: %s", dev, test ? "" : " for writing",
                              strerror(-r));
        if (fdisk_get_sector_size(cxt) != src->sector_size)
                return errmsg(why, -EMEDIUMTYPE,
                              "%s has %lu-byte sectors, the booted disk %lu-byte ones: the "
                              "layout cannot be copied sector for sector",
                              dev, fdisk_get_sector_size(cxt), src->sector_size);
        need = gpt_layout_min_bytes(src);
        if (fdisk_get_nsectors(cxt) * src->sector_size < need)
                return errmsg(why, -ENOSPC, "%s holds %" PRIu64 " bytes, the layout needs %" PRIu64,
                              dev, (uint64_t)fdisk_get_nsectors(cxt) * src->sector_size, need);

        /* Old signatures at the start of the disk go when the table is written. */
        fdisk_enable_wipe(cxt, 1);
        r = fdisk_create_disklabel(cxt, "gpt");
        if (r < 0)
                return errmsg(why, r, "cannot create a GPT on %s: %s", dev, strerror(-r));
        lb = fdisk_get_label(cxt, NULL);
        for (size_t i = 0; i < src->n; i++) {
                const struct gpt_part *p = &src->parts[i];
                _cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa =
                        fdisk_new_partition();
                _cleanup_(fdisk_unref_parttypep) struct fdisk_parttype *t =
                        fdisk_label_parse_parttype(lb, p->type);

                if (!pa || !t)
                        return -ENOMEM;
                if (fdisk_partition_set_partno(pa, p->partno) < 0 ||
                    fdisk_partition_set_start(pa, p->start) < 0 ||
                    fdisk_partition_set_size(pa, p->size) < 0 ||
                    fdisk_partition_size_explicit(pa, 1) < 0 ||
                    fdisk_partition_set_type(pa, t) < 0 ||
                    (p->name && fdisk_partition_set_name(pa, p->name) < 0))
                        return -ENOMEM;
                r = fdisk_add_partition(cxt, pa, NULL);
                if (r < 0)
                        return errmsg(why, r,
                                      "cannot add partition %zu (sectors %" PRIu64 "+%" PRIu64
                                      ") to the GPT of %s: %s",
                                      p->partno + 1, p->start, p->size, dev, strerror(-r));
        }
        if (!test) {
                r = fdisk_write_disklabel(cxt);
                if (r < 0)
                        return errmsg(why, r, "cannot write the GPT of %s: %s", dev, strerror(-r));
        }
        r = layout_of(cxt, dev, ret, why);
        if (r < 0)
                return r;
        if (!test) {
                /* Closes with fsync: the table is on the disk before anything uses it. */
                r = fdisk_deassign_device(cxt, 0);
                if (r < 0) {
                        gpt_layout_done(ret);
                        return errmsg(why, r, "cannot flush the GPT of %s: %s", dev, strerror(-r));
                }
        }
        return 0;
}
