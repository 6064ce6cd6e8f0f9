# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Sourced by t-adddisk-root.sh and t-adddisk-raid1.sh after lib.sh: approach 1's machine with
# its root on a real btrfs (this kernel has btrfs). Disk 0 (booted) and disk 1 are 400 MiB
# images: 1 ESP (32 MiB, an ext4 stand-in), 2 root (320 MiB: at 130 MiB the kernel refused the
# degraded replace with ENOSPC). The fake root
# is the btrfs: "degraded", a raid1 across both root partitions with disk 1 gone; "single",
# on disk 0's root partition alone. A blank 400 MiB image is the new disk ($NEW).

ESPOPT="umask=0077,nofail,x-systemd.device-timeout=30s,x-systemd.before=bind-mount-efi.service"
FSTAB=/etc/dual-root-test/fstab
ROOTSTART=67584

adddisk_image() { # IMAGE PARTUUID
        truncate -s 400M "$1"
        sgdisk -n "1:2048:+32M" -t 1:ef00 -u "1:$2" -n "2:0:+320M" -t 2:8300 "$1" >/dev/null
}

attach() { # IMAGE-OR-DEVICE START_SECTOR MIB -> loop device
        dev=$(losetup --find --show --offset $(($2 * 512)) --sizelimit $(($3 << 20)) "$1")
        echo "$dev"
}

adddisk_machine() { # degraded | single
        IMG0="$W/dual-root-test-disk0.img"
        adddisk_image "$IMG0" "$PU0"
        ROOT0=$(attach "$IMG0" $ROOTSTART 320)
        if [ "$1" = degraded ]; then
                IMG1="$W/dual-root-test-disk1.img"
                adddisk_image "$IMG1" "$PU1"
                ROOT1=$(attach "$IMG1" $ROOTSTART 320)
                mkfs.btrfs -q -f -d raid1 -m raid1 "$ROOT0" "$ROOT1" >/dev/null
                # disk 1 dies: forgotten by the kernel, detached
                btrfs device scan --forget "$ROOT1"
                losetup -d "$ROOT1"
                ROOT_DEVICE=$ROOT0 ROOT_OPTIONS=degraded make_root
        else
                mkfs.btrfs -q -f "$ROOT0" >/dev/null
                ROOT_DEVICE=$ROOT0 make_root
        fi
        FSID=$(blkid -o value -s UUID "$ROOT0")
        WHOLE0=$(losetup --find --show "$IMG0")
        DEV0=$(attach "$IMG0" 2048 32)
        mkfs_esp "$DEV0" "$FS0" ESP0
        link_partuuid "$PU0" "$DEV0"
        mkdir -p "$R/efi0"
        mount "$DEV0" "$R/efi0"
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries"
        echo sd-boot >"$R/efi0/EFI/systemd/systemd-bootx64.efi"
        echo kernel >"$R/efi0/vmlinuz"
        echo entry >"$R/efi0/loader/entries/debian.conf"
        booted_by_loader "$PU0"
        mkdir -p "$R/etc/dual-root-test"
        printf 'UUID=%s / btrfs defaults 0 0\nPARTUUID=%s /efi0 vfat %s 0 2\n' "$FSID" "$PU0" \
                "$ESPOPT" >"$R$FSTAB"
        NEWIMG="$W/dual-root-test-new.img"
        truncate -s 400M "$NEWIMG"
        NEW=$(losetup --find --show "$NEWIMG")
}

# The boot entry step reads the partition's number, start and size from sysfs, where a loop
# device is no partition: a fake one (DUAL_ROOT_SYSFS), as t-bootentry builds. --status is told
# the ESPs are ext4 stand-ins.
add_disk() {
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars DUAL_ROOT_FSTAB="$FSTAB" \
                DUAL_ROOT_SYSFS=/fakesys DUAL_ROOT_ESP_FSTYPE=ext4 "$TOOL" "$@" >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
}


# The runs up to the root step: the first stops at the partition devices, which then appear
# (as udev would link them); the second stops at the mount of the FAT (this kernel cannot),
# whose ext4 stand-in is then mounted where fstab says. Sets P1 P2.
adddisk_up_to_root() {
        add_disk --add-disk "$NEW" "$@"
        expect_status 1
        expect_stderr_has "step 3/7 (partition devices) failed"
        # the ESP's stand-in over the loop disk itself, the root partition's over its file:
        # btrfs-progs takes two loop devices over one file for the same device, and would
        # call the root partition mounted while the ESP is
        P1=$(attach "$NEW" 2048 32)
        P2=$(attach "$NEWIMG" $ROOTSTART 320)
        link_partuuid "$(sfdisk --part-uuid "$NEWIMG" 1 | tr '[:upper:]' '[:lower:]')" "$P1"
        link_partuuid "$(sfdisk --part-uuid "$NEWIMG" 2 | tr '[:upper:]' '[:lower:]')" "$P2"
        add_disk --add-disk "$NEW" "$@"
        expect_status 1
        expect_stderr_has "step 4/7 (ESP filesystem and mount) failed: cannot mount /efi1"
        mkfs_esp "$P1" "$FS1" ESP1
        mount "$P1" "$R/efi1"
        fake_partition "$P1" "$(basename "$NEW")" 1 2048 65536
}
