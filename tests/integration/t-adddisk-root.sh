#!/bin/bash
# SPDX-License-Identifier: MIT
# --add-disk's root step on a real btrfs (this kernel has btrfs): the fake root is a btrfs
# raid1 across partition 2 of disk 0 and disk 1, mounted degraded with disk 1 gone, as after
# a disk died. The new disk gets the layout, its ESP (an ext4 stand-in once the FAT is made:
# this kernel cannot mount vfat), the sync, and `btrfs replace` (btrfs-progs) onto its partition 2; the root
# then misses nothing and every chunk is raid1. Run again, every step keeps what is there.
. "$(dirname "$0")/lib.sh"

ESPOPT="umask=0077,nofail,x-systemd.device-timeout=30s,x-systemd.before=bind-mount-efi.service"
FSTAB=/etc/dual-root-test/fstab

# disk IMAGE PARTUUID: 200 MiB, 1 ESP (32 MiB), 2 root (130 MiB, the btrfs minimum is 125)
disk() {
        truncate -s 200M "$1"
        sgdisk -n "1:2048:+32M" -t 1:ef00 -u "1:$2" -n "2:0:+130M" -t 2:8300 "$1" >/dev/null
}
ROOTSTART=67584
attach() { # IMAGE START_SECTOR MIB -> device
        dev=$(losetup --find --show --offset $(($2 * 512)) --sizelimit $(($3 << 20)) "$1")
        echo "$dev" >>"$W/loops"
        echo "$dev"
}
IMG0="$W/dual-root-test-disk0.img"
IMG1="$W/dual-root-test-disk1.img"
disk "$IMG0" "$PU0"
disk "$IMG1" "$PU1"
ROOT0=$(attach "$IMG0" $ROOTSTART 130)
ROOT1=$(attach "$IMG1" $ROOTSTART 130)
mkfs.btrfs -q -f -d raid1 -m raid1 "$ROOT0" "$ROOT1" >/dev/null
FSID=$(blkid -o value -s UUID "$ROOT0")
# disk 1 dies: forgotten by the kernel, detached
btrfs device scan --forget "$ROOT1"
losetup -d "$ROOT1"
ROOT_DEVICE=$ROOT0 ROOT_OPTIONS=degraded make_root
WHOLE0=$(losetup --find --show "$IMG0")
echo "$WHOLE0" >>"$W/loops"
DEV0=$(attach "$IMG0" 2048 32)
mkfs_esp "$DEV0" "$FS0" ESP0
link_partuuid "$PU0" "$DEV0"
mkdir -p "$R/efi0"
mount "$DEV0" "$R/efi0"
mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries"
echo kernel >"$R/efi0/vmlinuz"
echo entry >"$R/efi0/loader/entries/debian.conf"
booted_by_loader "$PU0"
mkdir -p "$R/etc/dual-root-test"
printf 'UUID=%s / btrfs defaults 0 0\nPARTUUID=%s /efi0 vfat %s 0 2\n' "$FSID" "$PU0" "$ESPOPT" >"$R$FSTAB"

add_disk() {
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars DUAL_ROOT_FSTAB="$FSTAB" \
                "$TOOL" "$@" >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
}

NEWIMG="$W/dual-root-test-new.img"
truncate -s 200M "$NEWIMG"
NEW=$(losetup --find --show "$NEWIMG")
echo "$NEW" >>"$W/loops"

degraded_root_is_replaced() {
        btrfs filesystem show "$R" >"$W/show" 2>&1
        grep -qi missing "$W/show" || fail "the root is not degraded to begin with: $(cat "$W/show")"

        add_disk --add-disk "$NEW" -t
        expect_status 0
        expect_stdout_has "the root filesystem misses device 2 of 2: replacing it by <the new root partition>"
        expect_stdout_has "would run: btrfs replace start 2 '<the new root partition>' /"

        add_disk --add-disk "$NEW" # stops at step 3: no partition devices yet
        expect_status 1
        expect_stderr_has "step 3/7 (partition devices) failed"
        # the ESP's stand-in over the loop disk itself, the root partition's over its file:
        # btrfs-progs takes two loop devices over one file for the same device, and would
        # call the root partition mounted while the ESP is
        P1=$(attach "$NEW" 2048 32)
        P2=$(attach "$NEWIMG" $ROOTSTART 130)
        NPU1=$(sfdisk --part-uuid "$NEWIMG" 1 | tr 'A-Z' 'a-z')
        link_partuuid "$NPU1" "$P1"
        link_partuuid "$(sfdisk --part-uuid "$NEWIMG" 2 | tr 'A-Z' 'a-z')" "$P2"
        add_disk --add-disk "$NEW" # stops at step 4: this kernel cannot mount the FAT
        expect_status 1
        expect_stderr_has "step 4/7 (ESP filesystem and mount) failed: cannot mount /efi1"
        # the stand-in for the FAT ESP, mounted where fstab says, as the mount would have
        mkfs_esp "$P1" "$FS1" ESP1
        mount "$P1" "$R/efi1"

        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "/dev/$(basename "$P1") is mounted on /efi1 (an earlier run of --add-disk)"
        expect_stdout_has "kept: $P1 is mounted on /efi1"
        expect_stdout_has "synced /efi0/ -> /efi1/"
        expect_stdout_has "running: btrfs replace start 2 $P2 /"
        expect_stdout_has "running: btrfs replace status /"
        [ "$(cat "$R/efi1/vmlinuz")" = kernel ] || fail "/efi1 did not get the booted ESP's files"
        btrfs filesystem show "$R" >"$W/show" 2>&1
        ! grep -qi missing "$W/show" || fail "the root still misses a device: $(cat "$W/show")"
        grep -q "$P2" "$W/show" || fail "$P2 is not a device of the root: $(cat "$W/show")"
        btrfs filesystem df "$R" >"$W/df"
        ! grep -E '^(Data|Metadata|System)' "$W/df" | grep -qv RAID1 || fail "chunks not raid1: $(cat "$W/df")"
        expect_stdout_has "boot readiness:"

        # once more: all kept
        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "kept: $P2 is a device of the root filesystem"
        expect_stdout_has "kept: every chunk of the root filesystem is raid1"
        expect_stdout_lacks "running: btrfs replace"
        expect_stdout_lacks "running: mkfs.vfat"
}

run_case "a degraded btrfs root gets its missing device replaced by the new disk, once" degraded_root_is_replaced
finish
