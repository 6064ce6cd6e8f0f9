#!/bin/bash
# SPDX-License-Identifier: MIT
# --add-disk on a distribution installer's layout (DESIGN.md §12b A8, twin-lib.sh with
# TWIN_LAYOUT=bootefi): one disk, its ESP on /boot/efi, /boot a directory of the ext4 root.
# -s and --add-disk say the config line to set and the next command instead of a bare
# refusal; then the twin is made: its ESP below its root on /mnt/root1/boot/efi, nothing bound
# on /boot, /boot copied with the root.
. "$(dirname "$0")/lib.sh"
TWIN_LAYOUT=bootefi
. "$(dirname "$0")/twin-lib.sh"

twin_machine

the_installer_layout_gets_its_twin() {
        before=$(untouched)
        # -s: the way on, not a bare refusal
        add_disk -s -t
        expect_stderr_has "the booted ESP $DEV0 is not mounted on any ESP mount point"
        expect_stderr_has "it is mounted on /boot/efi, which the config does not name. To keep it there and give this machine a second disk as its approach-2 twin"
        expect_stderr_has "esp_mounts = [\"/boot/efi\", \"/mnt/root1/boot/efi\"], then run: dual-root-tool --add-disk DEVICE -t"
        add_disk --add-disk "$NEW"
        expect_status 1
        expect_stderr_has "--add-disk $NEW: cannot add a disk: the booted ESP $DEV0 is not mounted on an ESP mount point: it is mounted on /boot/efi"
        expect_stderr_has "then run: dual-root-tool --add-disk $NEW -t"
        [ "$(untouched)" = "$before" ] || fail "a refused run changed something"

        echo 'esp_mounts = ["/boot/efi", "/mnt/root1/boot/efi"]' >"$R$CONF"
        add_disk --add-disk "$NEW" -t
        expect_status 1
        expect_stderr_has '["/etc/", "/mnt/root1/etc/"],'
        expect_stderr_has '["/", "/mnt/root1/", ["/etc/", "/boot/efi/", "/dev/*", "/proc/*", "/sys/*", "/run/*", "/tmp/*", "/mnt/*"]],'
        expect_stderr_has "swap_ids = [\"$FSTAB\", \"/boot/loader/entries/\"]"
        printed_config >"$R$CONF"

        add_disk --add-disk "$NEW" -t
        expect_status 0
        expect_stdout_has "partition 2 ($PART2): no filesystem, left blank on the twin"
        expect_stdout_has "partition 3: ext4 'root0' on / -> the twin's: ext4 'root1' on /mnt/root1"
        expect_stdout_has "the ESPs: the booted one stays on /boot/efi; the twin's is mounted on /mnt/root1/boot/efi here, and on /boot/efi when the twin is booted"
        expect_stdout_has "/boot: a directory of each disk's root, synced with it; nothing is bound on /boot"
        expect_stdout_has "the new ESP's mount point: /mnt/root1/boot/efi"
        expect_stdout_has "would copy / -> /mnt/root1/"
        [ "$(untouched)" = "$before" ] || fail "-t changed something"

        add_disk --add-disk "$NEW"
        expect_status 1
        expect_stderr_has "step 3/7 (partition devices) failed"
        twin_devices
        add_disk --add-disk "$NEW"
        expect_status 1
        expect_stderr_has "step 4/7 (filesystems and mounts) failed: cannot mount /mnt/root1/boot/efi"
        [ -d "$R/mnt/root1/boot/efi" ] || fail "the ESP's mount point was not made on the twin's root"
        mkfs_esp "$P1" "$FS1" ESP1
        mount "$P1" "$R/mnt/root1/boot/efi"
        fake_partition "$P1" "$(basename "$NEW")" 1 $S1 $((M1 * 2048))
        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "synced /boot/efi/ -> /mnt/root1/boot/efi/"
        expect_stdout_has "copied / -> /mnt/root1/"
        cmp -s "$R/boot/vmlinuz-6.1" "$R/mnt/root1/boot/vmlinuz-6.1" || fail "/boot was not copied with the root"
        [ -f "$R/mnt/root1/boot/efi/EFI/systemd/systemd-bootx64.efi" ] || fail "the ESP was not mirrored"
        root1=$(blkid -o value -s UUID "$P3")
        grep -q "root=UUID=$root1 " "$R/mnt/root1/boot/loader/entries/debian.conf" ||
                fail "the twin's entry does not name its own root"
        grep -q "^UUID=$root1 / ext4" "$R/mnt/root1$FSTAB" || fail "the twin's fstab does not mount its own root"
        ! findmnt -rn "$R/boot" >/dev/null || fail "something was mounted on /boot"
        # -b (bind-mount-efi.service) never binds the ESP over the /boot that holds it
        run_tool -b
        expect_status 1
        expect_stderr_has "not binding the booted ESP onto '/boot': it is mounted on /boot/efi, inside it, so this machine keeps its kernels in '/boot' (approach 2)"
        ! findmnt -rn "$R/boot" >/dev/null || fail "-b mounted something on /boot"
}

run_case "a distribution's one-disk layout (ESP on /boot/efi) is told the way and gets its twin" the_installer_layout_gets_its_twin
finish
