#!/bin/bash
# SPDX-License-Identifier: MIT
# --add-disk on loop images: the refusals (booted disk, a partition, mounted partition,
# signatures, too small), -t changing nothing, the GPT copied (sfdisk --dump of both images,
# GUIDs aside), the fstab edit (exact line, backup, atomic rename, seam), and a run that stops
# at a step and continues when run again; a replacement taking a missing disk's /efi<N> and
# fstab line, two missing refused, an esp_mounts without the new mount point refused at step 1.
#
# This kernel makes no partition devices for loop devices: a partition is a loop device over
# the disk's image at the partition's offset and size, linked in the fake root's
# /dev/disk/by-partuuid as udev would. The tool accepts exactly that as the partition (it
# checks the file, offset and size through sysfs), so steps 3 and 4 run here up to the mount
# of the FAT ESP, which this kernel cannot do; the rest is proven in the VM suite (case 12).
. "$(dirname "$0")/lib.sh"

make_root
FSTAB=/etc/dual-root-test/fstab # the seam: never the fake root's /etc/fstab
mkdir -p "$R/etc/dual-root-test"
ESPOPT="umask=0077,nofail,x-systemd.device-timeout=30s,x-systemd.before=bind-mount-efi.service"
printf '# the fake root\n/dev/root / tmpfs defaults 0 0\nPARTUUID=%s /efi0 vfat %s 0 2\n' \
        "$PU0" "$ESPOPT" >"$R$FSTAB"
cp "$R$FSTAB" "$W/fstab.orig"
echo "# must never change" >"$R/etc/fstab"

# disk0: the booted disk, GPT with an ESP (32 MiB) and a root partition (16 MiB), whole-disk
# loop device plus the ESP's partition stand-in.
IMG0="$W/dual-root-test-disk0.img"
truncate -s 64M "$IMG0"
sgdisk -n "1:2048:+32M" -t 1:ef00 -u "1:$PU0" -c 1:ESP0 \
        -n "2:0:+16M" -t 2:8300 -c 2:root0 "$IMG0" >/dev/null
WHOLE0=$(losetup --find --show "$IMG0")
DEV0=$(attach_part disk0 1 32)
mkfs_esp "$DEV0" "$FS0" ESP0
link_partuuid "$PU0" "$DEV0"
mkdir -p "$R/efi0/EFI/BOOT" "$R/efi0/loader"
mount "$DEV0" "$R/efi0"
echo kernel >"$R/efi0/vmlinuz"
booted_by_loader "$PU0"

# new_disk NAME MIB: a blank image and its whole-disk loop device (printed).
new_disk() {
        truncate -s "$2M" "$W/dual-root-test-$1.img"
        dev=$(losetup --find --show "$W/dual-root-test-$1.img")
        echo "$dev"
}

add_disk() {
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars DUAL_ROOT_FSTAB="$FSTAB" \
                "$TOOL" "$@" >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
}

# dump IMAGE: sfdisk --dump without the GUIDs, the device names and the usable range (which
# depends on the disk's size).
dump() {
        sfdisk --dump "$1" | sed -e '/^label-id:/d' -e '/^device:/d' -e '/^first-lba:/d' \
                -e '/^last-lba:/d' -e 's/^[^:]*: //' \
                -e 's/, *uuid=[0-9A-Fa-f-]*//'
}

refuses_the_booted_disk() {
        add_disk --add-disk "$WHOLE0"
        expect_status 1
        expect_stderr_has "step 1/7 (check) failed: $WHOLE0 is the booted disk (it holds the booted ESP $DEV0)"
        expect_stderr_has "Nothing was changed."
}

refuses_a_partition() {
        truncate -s 64M "$W/dual-root-test-part.img"
        p=$(losetup --find --show --offset $((2048 * 512)) --sizelimit $((32 << 20)) "$W/dual-root-test-part.img")
        add_disk --add-disk "$p"
        expect_status 1
        expect_stderr_has "$p is a loop device over part of $W/dual-root-test-part.img, not a whole disk"
        losetup -d "$p"
}

# §12 rule 8: every other name of the booted disk this host can make is refused at step 1,
# before anything (a "continuing" included: the booted disk has the booted disk's layout), and
# nothing is written. Device-mapper and md cannot be made here (no dm, no md in this kernel):
# they are handled by the same code through sysfs slaves/, proven only by reading.
refuses_every_other_name_of_the_booted_disk() {
        local sum l dev
        # detached however the case ends, stacked ones first (the list is in attach order)
        # (the loop under a mounted filesystem is detached when that is unmounted: autoclear)
        case_cleanup() {
                [ ! -f "$W/names" ] || for d in $(tac "$W/names"); do losetup -d "$d"; done
                ! mountpoint -q "$W/onboot" || umount "$W/onboot"
                rm -f "$W/names"
        }
        name() { losetup --find --show "$@" | tee -a "$W/names"; }
        # the booted disk outside its (mounted, so changing) ESP: the GPTs and the root partition
        outside_esp() { { head -c $((2048 * 512)) "$IMG0"; tail -c +$((67584 * 512 + 1)) "$IMG0"; } | sha256sum; }
        sum=$(outside_esp)
        name "$WHOLE0" >/dev/null # a loop over the whole-disk loop device
        name "$IMG0" >/dev/null # a second loop over the image file
        # a loop over the booted ESP (one of its partitions), over the whole-disk loop at the
        # root partition's offset, and over the image file there (partition stand-ins)
        name "$DEV0" >/dev/null
        name --offset $((67584 * 512)) --sizelimit $((16 << 20)) "$WHOLE0" >/dev/null
        name --offset $((67584 * 512)) --sizelimit $((16 << 20)) "$IMG0" >/dev/null
        # a loop over a loop over the whole disk
        l=$(name "$WHOLE0")
        name "$l" >/dev/null
        for dev in $(cat "$W/names"); do
                add_disk --add-disk "$dev"
                expect_status 1
                expect_stderr_has "step 1/7 (check) failed: $dev is the booted disk under another name: $(basename "$dev") -> "
                expect_stderr_has "which also holds the booted ESP $DEV0"
                expect_stderr_has "Nothing was changed."
                ! grep -q "continuing\|already has the booted disk's layout" "$OUT" "$ERR" || fail "$dev: taken for a disk to continue"
        done
        # the booted ESP itself
        add_disk --add-disk "$DEV0"
        expect_status 1
        expect_stderr_has "step 1/7 (check) failed: $DEV0 is the booted disk"
        # by-id / by-path style links (udev's) to the whole disk and to another name of it
        mkdir -p "$R/dev/disk/by-id" "$R/dev/disk/by-path"
        ln -sfn "../../$(basename "$WHOLE0")" "$R/dev/disk/by-id/ata-DUALROOT_BOOTED"
        ln -sfn "../../$(basename "$l")" "$R/dev/disk/by-path/pci-0000:00:1f.2-ata-1"
        add_disk --add-disk /dev/disk/by-id/ata-DUALROOT_BOOTED
        expect_status 1
        expect_stderr_has "step 1/7 (check) failed: /dev/disk/by-id/ata-DUALROOT_BOOTED is the booted disk"
        add_disk --add-disk /dev/disk/by-path/pci-0000:00:1f.2-ata-1
        expect_status 1
        expect_stderr_has "step 1/7 (check) failed: /dev/disk/by-path/pci-0000:00:1f.2-ata-1 is the booted disk under another name"
        add_disk -t --add-disk "$l"
        expect_status 1
        expect_stderr_has "is the booted disk under another name"
        rm -f "$R/dev/disk/by-id/ata-DUALROOT_BOOTED" "$R/dev/disk/by-path/pci-0000:00:1f.2-ata-1"
        [ "$(outside_esp)" = "$sum" ] || fail "the booted disk's image changed"
        # a loop over an image file kept on a filesystem of the booted disk (its root partition
        # here) is stored on the booted disk too
        l=$(name --offset $((67584 * 512)) --sizelimit $((16 << 20)) "$IMG0")
        mkfs.ext4 -q -F "$l"
        mkdir "$W/onboot"
        mount "$l" "$W/onboot"
        truncate -s 8M "$W/onboot/disk.img"
        dev=$(name "$W/onboot/disk.img")
        add_disk --add-disk "$dev"
        expect_status 1
        expect_stderr_has "step 1/7 (check) failed: $dev is the booted disk under another name: $(basename "$dev") -> $W/onboot/disk.img -> $(basename "$l") -> $IMG0"
}

refuses_a_disk_too_small() {
        small=$(new_disk small 40)
        add_disk --add-disk "$small"
        expect_status 1
        expect_stderr_has "$small is too small: 41943040 bytes (40 MiB), the booted disk's layout needs 51397120 bytes (50 MiB)"
}

refuses_a_mounted_partition() {
        d=$(new_disk mounted 64)
        sgdisk -n "1:2048:+8M" -t 1:8300 "$W/dual-root-test-mounted.img" >/dev/null
        p=$(attach_part mounted 1 8)
        mkfs.ext4 -q "$p"
        mkdir -p "$R/mnt/busy"
        mount "$p" "$R/mnt/busy"
        add_disk --add-disk "$d" --force
        umount "$R/mnt/busy"
        expect_status 1
        expect_stderr_has "$d is in use: its partition /dev/$(basename "$p") is mounted on /mnt/busy"
}

refuses_signatures_without_force() {
        d=$(new_disk sig 64)
        mkfs.ext4 -q -U 0e5f2222-aaaa-4bbb-8ccc-222222222222 "$d"
        sum=$(sha256sum <"$W/dual-root-test-sig.img")
        add_disk --add-disk "$d"
        expect_status 1
        expect_stderr_has "$d is not blank: it holds an ext4 signature (UUID 0e5f2222-aaaa-4bbb-8ccc-222222222222). --force destroys it"
        [ "$(sha256sum <"$W/dual-root-test-sig.img")" = "$sum" ] || fail "the refused disk changed"

        # another layout: named, and how it differs
        sgdisk -Z "$W/dual-root-test-sig.img" >/dev/null 2>&1
        sgdisk -n "1:2048:+8M" -t 1:8300 "$W/dual-root-test-sig.img" >/dev/null
        add_disk --add-disk "$d"
        expect_status 1
        expect_stderr_has "it holds a gpt partition table; its partition table differs from the booted disk's: 1 partition(s), not 2"
}

test_mode_changes_nothing() {
        d=$(new_disk dry 64)
        mkfs.ext4 -q "$d"
        sum=$(sha256sum <"$W/dual-root-test-dry.img")
        add_disk --add-disk "$d" --force -t
        expect_status 0
        expect_stdout_has "--force: a real run destroys an ext4 signature"
        expect_stdout_has "would write (GUIDs drawn anew by a real run): GPT"
        expect_stdout_has "1: start 2048, 65536 sectors (32 MiB), type c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
        expect_stdout_has "2: start 67584, 32768 sectors (16 MiB), type 0fc63daf-8483-4772-8e79-3d69d8477de4"
        expect_stdout_has "would run: mkfs.vfat -F 32"
        expect_stdout_has "would add to $FSTAB: PARTUUID="
        expect_stdout_has " /efi1 vfat $ESPOPT 0 2"
        expect_stdout_has "would sync the booted ESP /efi0/ onto /efi1/"
        expect_stdout_has "not touched: the root filesystem (tmpfs) is not on the booted disk"
        [ "$(sha256sum <"$W/dual-root-test-dry.img")" = "$sum" ] || fail "-t changed the disk"
        [ "$(sfdisk --dump "$IMG0")" = "$(cat "$W/img0.dump")" ] || fail "-t changed the booted disk's table"
        cmp -s "$R$FSTAB" "$W/fstab.orig" || fail "-t changed $FSTAB"
        [ ! -e "$R$FSTAB.dual-root.bak" ] || fail "-t wrote a backup"
        [ ! -e "$R/efi1" ] || fail "-t created /efi1"
}

# The full local story on one disk: GPT, stop at the partition devices, continue, FAT32 and
# fstab, stop at the mount, continue again idempotently.
NEWIMG="$W/dual-root-test-new.img"
writes_the_gpt_then_continues() {
        d=$(new_disk new 80)
        add_disk --add-disk "$d"
        expect_status 1
        expect_stdout_has "wrote: GPT"
        expect_stderr_has "step 3/7 (partition devices) failed: partition 1 of $d"
        expect_stderr_has "did not appear"
        # The wait is said, not silent (DESIGN.md §13): off a terminal, when it begins and ends.
        pu1=$(sfdisk --part-uuid "$NEWIMG" 1 | tr '[:upper:]' '[:lower:]')
        expect_stderr_has "waiting for udev to create /dev/disk/by-partuuid/$pu1..."
        expect_stderr_has "waiting for udev to create /dev/disk/by-partuuid/$pu1: gave up (in 30s)"
        expect_stderr_has "Done: 1 check, 2 partition table. Not done: 3 partition devices, 4 ESP filesystem and mount, 5 ESP content, 6 boot entry, 7 root filesystem"
        [ "$(dump "$IMG0")" = "$(dump "$NEWIMG")" ] ||
                fail "layouts differ: $(diff <(dump "$IMG0") <(dump "$NEWIMG"))"
        old=$(sfdisk --dump "$IMG0" | grep -ci "$PU0" || true)
        [ "$old" = 1 ] || fail "booted disk's PARTUUID not in its own dump"
        ! sfdisk --dump "$NEWIMG" | grep -qi "$PU0" || fail "the new disk reuses the booted ESP's PARTUUID"
        [ "$(sfdisk --disk-id "$NEWIMG")" != "$(sfdisk --disk-id "$IMG0")" ] || fail "same disk GUID"
        cmp -s "$R$FSTAB" "$W/fstab.orig" || fail "fstab changed before step 4"

        # the partitions appear (as udev would link them); the run continues
        NEWPU1=$(sfdisk --part-uuid "$NEWIMG" 1 | tr '[:upper:]' '[:lower:]')
        NEWPU2=$(sfdisk --part-uuid "$NEWIMG" 2 | tr '[:upper:]' '[:lower:]')
        p1=$(losetup --find --show --offset $((2048 * 512)) --sizelimit $((32 << 20)) "$NEWIMG")
        p2=$(losetup --find --show --offset $((67584 * 512)) --sizelimit $((16 << 20)) "$NEWIMG")
        link_partuuid "$NEWPU1" "$p1"
        link_partuuid "$NEWPU2" "$p2"
        sum=$(sha256sum <"$NEWIMG" | cut -c1-16)
        add_disk --add-disk "$d"
        expect_stdout_has "kept: $d already has the booted disk's layout"
        expect_stdout_has "ESP: $p1 (PARTUUID $NEWPU1)"
        # labelled like the booted ESP, with its mount point's number (§12b A2)
        expect_stdout_has "running: mkfs.vfat -F 32 -n ESP1 $p1"
        [ "$(blkid -o value -s TYPE "$p1")" = vfat ] || fail "no FAT on $p1"
        [ "$(blkid -o value -s LABEL "$p1")" = ESP1 ] || fail "$p1's label is $(blkid -o value -s LABEL "$p1"), expected ESP1"
        line="PARTUUID=$NEWPU1 /efi1 vfat $ESPOPT 0 2"
        [ "$(tail -n 1 "$R$FSTAB")" = "$line" ] || fail "last fstab line is '$(tail -n 1 "$R$FSTAB")', expected '$line'"
        [ "$(head -n -1 "$R$FSTAB")" = "$(cat "$W/fstab.orig")" ] || fail "fstab lost or changed lines"
        cmp -s "$R$FSTAB.dual-root.bak" "$W/fstab.orig" || fail "the backup is not the previous fstab"
        [ ! -e "$R$FSTAB.dual-root.tmp" ] || fail "the temporary file was left behind"
        [ "$(cat "$R/etc/fstab")" = "# must never change" ] || fail "/etc/fstab was touched"
        # this kernel cannot mount vfat: the step fails, naming what is done
        expect_status 1
        expect_stderr_has "step 4/7 (ESP filesystem and mount) failed: cannot mount /efi1 as $FSTAB says"
        expect_stderr_has "Done: 1 check, 2 partition table, 3 partition devices. Not done: 4 ESP"

        # again: nothing done twice
        cp "$R$FSTAB" "$W/fstab.after"
        fat=$(blkid -o value -s UUID "$p1")
        add_disk --add-disk "$d"
        expect_status 1
        expect_stdout_has "kept: $p1 already holds a FAT filesystem (UUID $fat)"
        expect_stdout_has "kept: $FSTAB already mounts PARTUUID=$NEWPU1 on /efi1"
        expect_stdout_lacks "running: mkfs.vfat"
        cmp -s "$R$FSTAB" "$W/fstab.after" || fail "the second run changed fstab"
        [ "$(blkid -o value -s UUID "$p1")" = "$fat" ] || fail "the FAT was made again"
        # -q: the error alone
        add_disk --add-disk "$d" -q
        expect_status 1
        [ ! -s "$OUT" ] || fail "-q printed on stdout"
        expect_stderr_has "step 4/7 (ESP filesystem and mount) failed"
}

fstab_edit_is_atomic() {
        # the edit as strace sees it: temporary file, fsync, rename over fstab, directory fsync
        d=$(new_disk atomic 80)
        sgdisk -R "$W/dual-root-test-atomic.img" "$IMG0" >/dev/null
        sgdisk -G "$W/dual-root-test-atomic.img" >/dev/null
        pu=$(sfdisk --part-uuid "$W/dual-root-test-atomic.img" 1 | tr '[:upper:]' '[:lower:]')
        p=$(losetup --find --show --offset $((2048 * 512)) --sizelimit $((32 << 20)) "$W/dual-root-test-atomic.img")
        link_partuuid "$pu" "$p"
        cp "$W/fstab.orig" "$R$FSTAB"
        echo "stale half-written edit" >"$R$FSTAB.dual-root.tmp"
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars DUAL_ROOT_FSTAB="$FSTAB" \
                strace -f -qq -e trace=openat,write,fsync,rename,renameat,renameat2,unlinkat \
                -o /tmp/trace "$TOOL" --add-disk "$d" >"$OUT" 2>"$ERR"
        set -e
        grep -E 'fstab|fsync' "$R/tmp/trace" | sed 's/^[0-9]* *//' >"$W/trace"
        # the order: stale temp removed, backup written and renamed, new text written,
        # flushed, renamed over fstab, then the directory flushed
        awk '
                /unlinkat.*fstab.dual-root.tmp/ { s = s "U" }
                /rename.*"fstab.dual-root.tmp".*"fstab.dual-root.bak"/ { s = s "B" }
                /^fsync/ { s = s "F" }
                /rename.*"fstab.dual-root.tmp".*"fstab"\)/ { s = s "R" }
                END { print s }' "$W/trace" >"$W/order"
        grep -q 'UFBFRF' "$W/order" || fail "edit order '$(cat "$W/order")', expected UFBFRF (unlink stale, fsync, backup, fsync, rename, dir fsync): $(cat "$W/trace")"
        [ "$(tail -n 1 "$R$FSTAB")" = "PARTUUID=$pu /efi1 vfat $ESPOPT 0 2" ] ||
                fail "fstab's last line is '$(tail -n 1 "$R$FSTAB")'"
        ! grep -q "stale" "$R$FSTAB" || fail "the stale temporary file became fstab"
}

refuses_a_symlinked_fstab() {
        d=$(new_disk link 80)
        sgdisk -R "$W/dual-root-test-link.img" "$IMG0" >/dev/null
        sgdisk -G "$W/dual-root-test-link.img" >/dev/null
        pu=$(sfdisk --part-uuid "$W/dual-root-test-link.img" 1 | tr '[:upper:]' '[:lower:]')
        p=$(losetup --find --show --offset $((2048 * 512)) --sizelimit $((32 << 20)) "$W/dual-root-test-link.img")
        link_partuuid "$pu" "$p"
        cp "$W/fstab.orig" "$R/etc/dual-root-test/real-fstab"
        ln -sf real-fstab "$R/etc/dual-root-test/fstab-link"
        FSTAB=/etc/dual-root-test/fstab-link add_disk --add-disk "$d"
        expect_status 1
        expect_stderr_has "cannot read /etc/dual-root-test/fstab-link"
        cmp -s "$R/etc/dual-root-test/real-fstab" "$W/fstab.orig" || fail "the link's target changed"
}

refuses_same_layout_with_foreign_content() {
        # an identically partitioned disk of another machine is not "a run to continue"
        d=$(new_disk twin 80)
        sgdisk -R "$W/dual-root-test-twin.img" "$IMG0" >/dev/null
        sgdisk -G "$W/dual-root-test-twin.img" >/dev/null
        p=$(losetup --find --show --offset $((2048 * 512)) --sizelimit $((32 << 20)) "$W/dual-root-test-twin.img")
        mkfs.ext4 -q -U 0e5f3333-aaaa-4bbb-8ccc-333333333333 "$p"
        # detached here, so no longer ours to detach at clean-up (another test may be given
        # the same loop device by then)
        losetup -d "$p"
        add_disk --add-disk "$d"
        expect_status 1
        expect_stderr_has "$d is not blank: it holds a gpt partition table, an ext4 signature (UUID 0e5f3333-aaaa-4bbb-8ccc-333333333333) in partition 1. --force destroys it"
        # --force: destroyed, a fresh table with new GUIDs, the old filesystem gone from it
        old=$(sfdisk --part-uuid "$W/dual-root-test-twin.img" 1)
        add_disk --add-disk "$d" --force
        expect_stdout_has "--force: this run destroys a gpt partition table, an ext4 signature"
        expect_stdout_has "wrote: GPT"
        [ "$(sfdisk --part-uuid "$W/dual-root-test-twin.img" 1)" != "$old" ] || fail "PARTUUID kept"
        p=$(losetup --find --show --offset $((2048 * 512)) --sizelimit $((32 << 20)) "$W/dual-root-test-twin.img")
        [ -z "$(blkid -p -o value -s TYPE "$p" || true)" ] || fail "the old filesystem is still in partition 1: $(blkid -p "$p")"
}

refuses_a_btrfs_member() {
        # a partition that is a device of a mounted btrfs, though not the device mounted
        d=$(new_disk member 200)
        sgdisk -n "1:2048:+130M" -t 1:8300 "$W/dual-root-test-member.img" >/dev/null
        p=$(attach_part member 1 130)
        truncate -s 130M "$W/dual-root-test-other.img"
        o=$(losetup --find --show "$W/dual-root-test-other.img")
        mkfs.btrfs -q -f -d raid1 -m raid1 "$o" "$p" >/dev/null
        mkdir -p "$R/mnt/pool"
        mount -t btrfs -o "device=$o,device=$p" "$o" "$R/mnt/pool"
        fsid=$(blkid -o value -s UUID "$o")
        add_disk --add-disk "$d" --force
        umount "$R/mnt/pool"
        expect_status 1
        expect_stderr_has "$d is in use: its partition /dev/$(basename "$p") is a device of the mounted btrfs filesystem $fsid"
}

# --- a replacement takes the missing disk's place (DESIGN.md §12 rule 9) ------------------

DEADPU=6a1e0c5b-dead-4a4a-8000-00000000dead
DEADPU2=6a1e0c5b-dead-4a4a-8000-0000000dead2
# laid_out NAME: a disk with the booted disk's layout (new GUIDs) and its ESP partition linked
# as udev would, as an earlier run leaves it after step 3; sets D (disk), P (ESP), PU.
laid_out() {
        rm -f "$R$FSTAB.dual-root.bak"
        D=$(new_disk "$1" 80)
        sgdisk -R "$W/dual-root-test-$1.img" "$IMG0" >/dev/null
        sgdisk -G "$W/dual-root-test-$1.img" >/dev/null
        PU=$(sfdisk --part-uuid "$W/dual-root-test-$1.img" 1 | tr '[:upper:]' '[:lower:]')
        P=$(losetup --find --show --offset $((2048 * 512)) --sizelimit $((32 << 20)) "$W/dual-root-test-$1.img")
        echo "$P" >>"$W/loops"
        link_partuuid "$PU" "$P"
}
replace_cleanup() {
        cp "$W/fstab.orig" "$R$FSTAB"
        rm -f "$R$FSTAB.dual-root.bak" "$R/etc/dual-root-test/esp.conf"
        rmdir "$R/efi1" "$R/efi2" 2>/dev/null || true
}

takes_the_missing_disks_place() {
        case_cleanup() { replace_cleanup; }
        laid_out replace
        # the dead disk's line (options of the admin's own) between two others; its mount point
        # an empty directory, as a dead disk leaves it
        dead="PARTUUID=$DEADPU  /efi1 vfat umask=0077,nofail,noatime 0 2"
        { cat "$W/fstab.orig"; echo "$dead"; echo "tmpfs /tmp tmpfs defaults 0 0"; } >"$R$FSTAB"
        cp "$R$FSTAB" "$W/fstab.dead"
        mkdir -p "$R/efi1"
        # an /efi2 an earlier case left (empty, nothing mounted) is no ESP of this machine
        mountpoint -q "$R/efi2" || rmdir "$R/efi2" 2>/dev/null || :
        want="PARTUUID=$PU  /efi1 vfat umask=0077,nofail,noatime 0 2"

        add_disk --add-disk "$D" -t
        expect_status 0
        expect_stdout_has "the new ESP's mount point: /efi1, the missing disk's: no present disk holds PARTUUID=$DEADPU, which $FSTAB mounts there"
        expect_stdout_has "would replace in $FSTAB the missing ESP's line:"
        expect_stdout_has "    old: $dead"
        expect_stdout_has "    new: $want"
        expect_stdout_has "would sync the booted ESP /efi0/ onto /efi1/"
        expect_stdout_lacks "/efi2"
        expect_stdout_lacks "remove its line"
        cmp -s "$R$FSTAB" "$W/fstab.dead" || fail "-t changed $FSTAB"
        [ ! -e "$R$FSTAB.dual-root.bak" ] || fail "-t wrote a backup"

        add_disk --add-disk "$D"
        expect_stdout_has "replaced in $FSTAB the missing ESP's line:"
        expect_stdout_has "    new: $want"
        # in place: the same lines, the dead one with the new PARTUUID
        [ "$(cat "$R$FSTAB")" = "$(sed "s|^PARTUUID=$DEADPU |PARTUUID=$PU |" "$W/fstab.dead")" ] ||
                fail "fstab is '$(cat "$R$FSTAB")'"
        cmp -s "$R$FSTAB.dual-root.bak" "$W/fstab.dead" || fail "the backup is not the previous fstab"
        # this kernel cannot mount vfat: the step stops at the mount, on /efi1
        expect_status 1
        expect_stderr_has "step 4/7 (ESP filesystem and mount) failed: cannot mount /efi1 as $FSTAB says"

        # again: the line is the new ESP's now, kept as it is
        cp "$R$FSTAB" "$W/fstab.after"
        add_disk --add-disk "$D" -t
        expect_status 0
        expect_stdout_has "the new ESP's mount point: /efi1 ($FSTAB mounts PARTUUID=$PU there: an earlier run)"
        expect_stdout_has "kept: $FSTAB already mounts PARTUUID=$PU on /efi1"
        cmp -s "$R$FSTAB" "$W/fstab.after" || fail "the second run changed fstab"
}

uuid_line_is_replaced_too() {
        case_cleanup() { replace_cleanup; }
        laid_out uuidline
        { cat "$W/fstab.orig"; echo "UUID=DEAD-BEEF /efi1 vfat umask=0077 0 2"; } >"$R$FSTAB"
        mkdir -p "$R/efi1"
        add_disk --add-disk "$D" -t
        expect_status 0
        expect_stdout_has "no present disk holds UUID=DEAD-BEEF, which $FSTAB mounts there"
        expect_stdout_has "    new: PARTUUID=$PU /efi1 vfat umask=0077 0 2"
}

refuses_two_missing_disks() {
        case_cleanup() { replace_cleanup; }
        laid_out twomissing
        l1="PARTUUID=$DEADPU /efi1 vfat umask=0077 0 2"
        l2="PARTUUID=$DEADPU2 /efi2 vfat umask=0077 0 2"
        { cat "$W/fstab.orig"; echo "$l1"; echo "$l2"; } >"$R$FSTAB"
        cp "$R$FSTAB" "$W/fstab.two"
        mkdir -p "$R/efi1" "$R/efi2"
        sum=$(sha256sum <"$W/dual-root-test-twomissing.img")
        add_disk --add-disk "$D"
        expect_status 1
        expect_stderr_has "step 1/7 (check) failed: $FSTAB has 2 ESP lines whose disk is missing, and a new disk takes the place of one:"
        expect_stderr_has "  $l1"
        expect_stderr_has "  $l2"
        expect_stderr_has "Comment out in $FSTAB the line of each disk you are not replacing now (keep exactly one; or none, for the next free /efi<N>), then run the same command again"
        expect_stderr_has "Nothing was changed."
        cmp -s "$R$FSTAB" "$W/fstab.two" || fail "fstab changed"
        [ "$(sha256sum <"$W/dual-root-test-twomissing.img")" = "$sum" ] || fail "the disk changed"
        # the way out, as said: one line commented out
        sed -i "s|^$l2|#$l2|" "$R$FSTAB"
        add_disk --add-disk "$D" -t
        expect_status 0
        expect_stdout_has "the new ESP's mount point: /efi1, the missing disk's"
}

beside_two_healthy_disks_takes_the_next_free() {
        case_cleanup() {
                umount "$R/efi1" 2>/dev/null || true
                replace_cleanup
        }
        laid_out third
        # a second healthy ESP on /efi1, present: first not mounted (present is not missing),
        # then mounted
        make_disk second 40 32 "$PU1"
        dev1=$(attach_part second 1 32)
        mkfs_esp "$dev1" "$FS1" ESP1
        link_partuuid "$PU1" "$dev1"
        { cat "$W/fstab.orig"; echo "PARTUUID=$PU1 /efi1 vfat umask=0077 0 2"; } >"$R$FSTAB"
        mkdir -p "$R/efi1"
        add_disk --add-disk "$D" -t
        expect_status 0
        expect_stdout_has "the new ESP's mount point: /efi2 (no ESP of $FSTAB is missing: the next free /efi<N>)"
        mount "$dev1" "$R/efi1"
        add_disk --add-disk "$D" -t
        expect_status 0
        expect_stdout_has "the new ESP's mount point: /efi2 (no ESP of $FSTAB is missing: the next free /efi<N>)"
        expect_stdout_has " /efi2 vfat $ESPOPT 0 2"
        expect_stdout_has "would sync the booted ESP /efi0/ onto /efi2/"
}

esp_mounts_without_the_new_mount_point_stops_at_step_1() {
        case_cleanup() { replace_cleanup; }
        laid_out conf
        printf 'esp_mounts = ["/efi0"]\n' >"$R/etc/dual-root-test/esp.conf"
        cp "$R$FSTAB" "$W/fstab.conf"
        for t in -t ""; do
                add_disk --add-disk "$D" -c /etc/dual-root-test/esp.conf $t
                expect_status 1
                expect_stderr_has "step 1/7 (check) failed: esp_mounts in /etc/dual-root-test/esp.conf does not name /efi1, where the new ESP goes, so no sync would reach it. Set there: esp_mounts = [\"/efi0\", \"/efi1\"]"
                expect_stderr_has "Nothing was changed."
        done
        cmp -s "$R$FSTAB" "$W/fstab.conf" || fail "fstab changed"
        # as said: then it goes on
        printf 'esp_mounts = ["/efi0", "/efi1"]\n' >"$R/etc/dual-root-test/esp.conf"
        add_disk --add-disk "$D" -c /etc/dual-root-test/esp.conf -t
        expect_status 0
        expect_stdout_has "would sync the booted ESP /efi0/ onto /efi1/"
}

sfdisk --dump "$IMG0" >"$W/img0.dump"
# DESIGN.md §13 on a pseudo-terminal (script(1)): the wait for udev is one live line, rewritten
# in place, that ends when the links appear (here made a moment later, as udev would).
udev_wait_on_a_terminal_is_a_live_line() {
        local d img pu1 p1 p2
        d=$(new_disk late 80)
        img="$W/dual-root-test-late.img"
        set +e
        script -qfec "chroot '$R' /usr/bin/env DUAL_ROOT_EFIVARS=/efivars DUAL_ROOT_FSTAB='$FSTAB' '$TOOL' --add-disk '$d'" \
                "$W/typescript" >/dev/null 2>&1 &
        local run=$!
        set -e
        wait_for 10 grep -q "so far, at most 30s" "$W/typescript" || fail "no live line: $(cat -v "$W/typescript")"
        pu1=$(sfdisk --part-uuid "$img" 1 | tr '[:upper:]' '[:lower:]')
        p1=$(losetup --find --show --offset $((2048 * 512)) --sizelimit $((32 << 20)) "$img")
        echo "$p1" >>"$W/loops"
        p2=$(losetup --find --show --offset $((67584 * 512)) --sizelimit $((16 << 20)) "$img")
        echo "$p2" >>"$W/loops"
        link_partuuid "$(sfdisk --part-uuid "$img" 2 | tr '[:upper:]' '[:lower:]')" "$p2"
        link_partuuid "$pu1" "$p1"
        wait "$run" || true
        grep -qF $'\rwaiting for udev to create /dev/disk/by-partuuid/'"$pu1"': ' "$W/typescript" ||
                fail "the wait is not a line rewritten in place: $(cat -v "$W/typescript")"
        grep -qF $'\e[K' "$W/typescript" || fail "the live line is not erased to its end: $(cat -v "$W/typescript")"
        grep -qF "waiting for udev to create /dev/disk/by-partuuid/$pu1: there (in " "$W/typescript" ||
                fail "no end line for the wait: $(cat -v "$W/typescript")"
        ! grep -qF "/dev/disk/by-partuuid/$pu1..." "$W/typescript" ||
                fail "the journal's begin line on a terminal: $(cat -v "$W/typescript")"
        grep -qF "ESP: $p1 (PARTUUID $pu1)" "$W/typescript" || fail "the run did not go on with $p1: $(cat -v "$W/typescript")"
}

run_case "refuses the booted disk" refuses_the_booted_disk
run_case "refuses a partition" refuses_a_partition
run_case "rule 8: refuses every other name of the booted disk first (loops, links)" refuses_every_other_name_of_the_booted_disk
run_case "refuses a disk smaller than the layout, naming both sizes" refuses_a_disk_too_small
run_case "refuses a disk with a mounted partition, even with --force" refuses_a_mounted_partition
run_case "refuses a disk with signatures unless --force, naming them" refuses_signatures_without_force
run_case "-t shows every step and changes nothing" test_mode_changes_nothing
run_case "writes the booted disk's GPT, stops at each missing step, continues when run again" writes_the_gpt_then_continues
run_case "fstab is edited atomically (temp, fsync, rename, dir fsync) with a backup" fstab_edit_is_atomic
run_case "a symlinked fstab is refused" refuses_a_symlinked_fstab
run_case "the booted disk's layout with foreign content is refused, and --force starts afresh" refuses_same_layout_with_foreign_content
run_case "refuses a disk with a partition in a mounted btrfs" refuses_a_btrfs_member
run_case "on a terminal the wait for udev is a live line, ended when the links appear" udev_wait_on_a_terminal_is_a_live_line
run_case "a replacement takes the missing disk's mount point and fstab line (old line in the backup)" takes_the_missing_disks_place
run_case "a missing disk's UUID= line is taken over too" uuid_line_is_replaced_too
run_case "two missing disks: refused at step 1 with the way out" refuses_two_missing_disks
run_case "beside two present disks: the next free /efi<N>" beside_two_healthy_disks_takes_the_next_free
run_case "an esp_mounts without the new mount point stops step 1, naming the config line" esp_mounts_without_the_new_mount_point_stops_at_step_1
finish
