#!/bin/bash
# SPDX-License-Identifier: MIT
# --status on the root (DESIGN.md §11 rule S6): approach 1's btrfs root read through the kernel's
# ioctls. The fake root is itself a btrfs raid1 over two loop devices; then its data is
# converted to single; then it is mounted degraded with one device gone.
. "$(dirname "$0")/lib.sh"

command -v mkfs.btrfs >/dev/null && grep -qw btrfs /proc/filesystems || {
        echo "SKIP: no btrfs (mkfs.btrfs, or the kernel's btrfs)"
        exit 77
}

# Two 300 MiB devices for the root.
for n in 0 1; do
        truncate -s 300M "$W/root$n.img"
        eval "RDEV$n=\$(losetup --find --show \"\$W/root$n.img\")"
        eval "echo \"\$RDEV$n\"" >>"$W/loops"
done
mkfs.btrfs -q -f -d raid1 -m raid1 "$RDEV0" "$RDEV1" >/dev/null
ROOT_DEVICE=$RDEV0
make_two_disk_machine
TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4"

healthy() {
        reset_machine
        rm -f "$R/etc/fstab"
        booted_by_loader "$PU0"
        efivar bootentry 0001 "Disk 0" --hd 1 "$PU0"
        efivar bootentry 0002 "Disk 1" --hd 1 "$PU1"
        efivar bootorder 0001,0002
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries"
        loader_file efi 16384 "$R/efi0/EFI/systemd/systemd-bootx64.efi"
        printf 'linux /vmlinuz\n' >"$R/efi0/loader/entries/a.conf"
        loader_file kernel 16384 "$R/efi0/vmlinuz"
        run_tool -s -q
        expect_status 0
        run_tool -b -q
        expect_status 0
}

root_raid1_is_ok() {
        healthy
        run_tool --status
        expect_status 0
        expect_stdout_has "OK root: btrfs on 2 devices, none missing; data raid1, metadata raid1, system raid1"
}

root_with_single_data_is_critical() {
        healthy
        btrfs balance start -f -dconvert=single "$R" >/dev/null 2>&1
        run_tool --status
        btrfs balance start -f -dconvert=raid1 "$R" >/dev/null 2>&1
        expect_status 2
        expect_stdout_has "CRITICAL root: the btrfs root's profiles do not survive the loss of a disk: data single"
        expect_stdout_has "(convert with btrfs balance start -dconvert=raid1 -mconvert=raid1 /)"
}

root_not_checked_in_approach_2() {
        healthy
        printf 'dualroot = false\n' >"$R/etc/dual-root/sync-daemon.conf"
        run_tool --status
        expect_status 0
        expect_stdout_lacks "root:"
}

# The per-disk verdict (rule S9) needs to know which disk each device is on: loop devices are
# no partitions, so a fake sysfs (DUAL_ROOT_SYSFS) puts ESP 0 and root device 0 on disk0, ESP
# 1 and root device 1 on disk1, as on a real two-disk machine.
fake_disks() {
        fake_partition "$DEV0" disk0 1 2048 65536
        fake_partition "$RDEV0" disk0 2 67584 614400
        fake_partition "$DEV1" disk1 1 2048 65536
        [ ! -b "$RDEV1" ] || fake_partition "$RDEV1" disk1 2 67584 614400
}

each_disk_mounts_the_root_alone() {
        healthy
        fake_disks
        TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4 DUAL_ROOT_SYSFS=/fakesys" run_tool --status
        expect_status 0
        expect_stdout_has "OK root: the btrfs root mounts from disk0 alone: 1 of its 2 devices lost with the other disks, its profiles survive the loss of 1"
        expect_stdout_has "OK root: the btrfs root mounts from disk1 alone: 1 of its 2 devices lost"
        run_tool --status --json
        expect_stdout_has '"root": {"redundant": true, "degraded_members": 0}'
        run_tool --status --textfile /tmp/dual-root.prom
        grep -qx "dualroot_root_redundant 1" "$R/tmp/dual-root.prom" || fail "no dualroot_root_redundant 1: $(cat "$R/tmp/dual-root.prom")"
        grep -qx "dualroot_root_degraded_members 0" "$R/tmp/dual-root.prom" || fail "no dualroot_root_degraded_members 0"
}

# Last: the root is mounted again, degraded, with its second device detached.
root_degraded_is_critical_naming_the_device() {
        sub=$(blkid -o value -s UUID_SUB "$RDEV1")
        umount -R "$R"
        # Detached here, so no longer ours to detach at clean-up: by then another test may
        # have been given the same loop device.
        sed -i "\|^$RDEV1\$|d" "$W/loops"
        losetup -d "$RDEV1"
        btrfs device scan --forget >/dev/null 2>&1 || true
        mount -o degraded "$RDEV0" "$R"
        populate_root
        for n in 0 1; do
                eval "dev=\$DEV$n pu=\$PU$n"
                link_partuuid "$pu" "$dev"
        done
        healthy
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL root: the btrfs root is degraded: 1 of its 2 devices missing: devid 2 (device UUID $sub, 300 MiB). There is no redundancy left"
        # disk1 holds no device of the root now: it does not boot alone; disk0 still does
        fake_disks
        TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4 DUAL_ROOT_SYSFS=/fakesys" run_tool --status
        expect_status 2
        expect_stdout_has "OK root: the btrfs root mounts from disk0 alone: 1 of its 2 devices lost"
        expect_stdout_has "CRITICAL root: the btrfs root would not mount from disk1 alone: 2 of its 2 devices are on the other disks or missing"
        run_tool --status --textfile /tmp/dual-root.prom
        grep -qx "dualroot_root_redundant 0" "$R/tmp/dual-root.prom" || fail "no dualroot_root_redundant 0: $(cat "$R/tmp/dual-root.prom")"
        grep -qx "dualroot_root_degraded_members 1" "$R/tmp/dual-root.prom" || fail "no dualroot_root_degraded_members 1"
}

run_case "btrfs raid1 root: OK" root_raid1_is_ok
run_case "single data chunks: CRITICAL" root_with_single_data_is_critical
run_case "approach 2 does not check the root" root_not_checked_in_approach_2
run_case "each disk mounts the raid1 root alone" each_disk_mounts_the_root_alone
run_case "degraded root: CRITICAL naming the missing device" root_degraded_is_critical_naming_the_device
finish
