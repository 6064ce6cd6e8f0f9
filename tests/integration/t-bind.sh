#!/bin/bash
# SPDX-License-Identifier: MIT
# -b (DESIGN.md §4): bind the booted ESP onto /boot; idempotent; never over another filesystem.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine

# devno_at PATH: the device number (major:minor) of the filesystem on top at PATH.
devno_at() {
        findmnt -n -o MAJ:MIN --mountpoint "$1" | tail -n 1 | tr -d ' '
}
devno_of() {
        lsblk -dn -o MAJ:MIN "$1" | tr -d ' '
}

bind_test_mode_changes_nothing() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool -bt
        expect_status 0
        expect_stdout_has "would run: mount --bind /efi0 /boot"
        ! mountpoint -q "$R/boot" || fail "/boot was mounted in test mode"
}

bind_mounts_disk0_esp_on_boot() {
        reset_machine
        booted_by_loader "$PU0"
        echo kernel >"$R/efi0/vmlinuz-test"
        run_tool -b
        expect_status 0
        expect_stdout_has "mounted the booted ESP $DEV0: mount --bind /efi0 /boot"
        [ "$(devno_at "$R/boot")" = "$(devno_of "$DEV0")" ] || fail "/boot does not hold $DEV0"
        [ -f "$R/boot/vmlinuz-test" ] || fail "/boot does not show the ESP's files"
        rm "$R/efi0/vmlinuz-test"
}

bind_mounts_disk1_esp_when_booted_from_disk1() {
        reset_machine
        efivar bootentry 0002 "Linux esp 1" --hd 1 "$PU1"
        efivar bootcurrent 0002
        run_tool -b
        expect_status 0
        [ "$(devno_at "$R/boot")" = "$(devno_of "$DEV1")" ] || fail "/boot does not hold $DEV1"
}

bind_is_idempotent() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool -b
        expect_status 0
        run_tool -b
        expect_status 0
        expect_stdout_has "'/boot' already holds the booted ESP $DEV0"
        [ "$(findmnt -n --mountpoint "$R/boot" | wc -l)" = 1 ] || fail "/boot was mounted twice"
}

bind_refuses_wrong_filesystem_on_boot() {
        reset_machine
        booted_by_loader "$PU0"
        mount "$DEV1" "$R/boot"
        run_tool -b
        expect_status 1
        expect_stderr_has "'/boot' already holds $DEV1 (ext4, device $(devno_of "$DEV1")), not the booted ESP $DEV0 (UUID $FS0); refusing to mount over it"
        [ "$(devno_at "$R/boot")" = "$(devno_of "$DEV1")" ] || fail "/boot changed"
}

bind_refuses_a_subdirectory_of_the_esp() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/efi0/EFI"
        mount --bind "$R/efi0/EFI" "$R/boot"
        run_tool -b
        expect_status 1
        expect_stderr_has "'/boot' holds only '/EFI' of the booted ESP $DEV0, not all of it"
}

bind_warns_about_files_in_a_stale_boot() {
        reset_machine
        booted_by_loader "$PU0"
        touch "$R/boot/vmlinuz-6.1.0-99-amd64" "$R/boot/initrd.img-6.1.0-99-amd64"
        run_tool -b
        expect_status 0
        expect_stderr_has "warning: '/boot' is not a mount point but holds 2 file(s): initrd.img-6.1.0-99-amd64, vmlinuz-6.1.0-99-amd64"
        [ "$(devno_at "$R/boot")" = "$(devno_of "$DEV0")" ] || fail "/boot does not hold $DEV0"
}

bind_fails_when_booted_esp_unknown() {
        reset_machine
        run_tool -b
        expect_status 1
        expect_stderr_has "cannot identify the booted ESP"
        ! mountpoint -q "$R/boot" || fail "/boot was mounted"
}

bind_fails_when_booted_esp_not_mounted() {
        reset_machine
        booted_by_loader "$PU0"
        umount "$R/efi0"
        run_tool -b
        expect_status 1
        expect_stderr_has "cannot bind the booted ESP $DEV0 onto '/boot': it is not mounted on any ESP mount point (/efi0, /efi1)"
        ! mountpoint -q "$R/boot" || fail "/boot was mounted"
}

bind_onto_another_directory() {
        reset_machine
        booted_by_loader "$PU1"
        mkdir -p "$R/mnt/esp"
        run_tool -b /mnt/esp/
        expect_status 0
        [ "$(devno_at "$R/mnt/esp")" = "$(devno_of "$DEV1")" ] || fail "/mnt/esp does not hold $DEV1"
        umount "$R/mnt/esp"
}

bind_target_must_be_a_directory() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool -b /nonexistent
        expect_status 1
        expect_stderr_has "cannot bind onto '/nonexistent': No such file or directory"
}

bind_refuses_a_symlinked_target() {
        reset_machine
        booted_by_loader "$PU1"
        case_cleanup() {
                rm -f "$R/mnt/sub/esp"
                if [ -L "$R/boot" ]; then rm "$R/boot" && mkdir "$R/boot"; fi
        }
        # /boot -> /efi0: the booted ESP (disk 1) would land over the alternate's mount.
        rmdir "$R/boot"
        ln -s efi0 "$R/boot"
        mkdir -p "$R/mnt/sub"
        ln -sfn ../../efi0 "$R/mnt/sub/esp"
        findmnt -rn -o TARGET,MAJ:MIN >"$W/mounts-before"
        run_tool -b
        expect_status 1
        expect_stderr_has "cannot bind onto '/boot': it resolves to '/efi0' (a symlink on the way); refusing to mount there. Make '/boot' a directory of its own"
        run_tool -b /mnt/sub/esp/
        expect_status 1
        expect_stderr_has "cannot bind onto '/mnt/sub/esp': it resolves to '/efi0' (a symlink on the way)"
        findmnt -rn -o TARGET,MAJ:MIN >"$W/mounts-after"
        cmp -s "$W/mounts-before" "$W/mounts-after" || fail "the mount table changed: $(diff "$W/mounts-before" "$W/mounts-after")"
        [ "$(devno_at "$R/efi0")" = "$(devno_of "$DEV0")" ] || fail "/efi0 no longer holds $DEV0"
}

bind_quiet_prints_nothing() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool -q -b
        expect_status 0
        [ ! -s "$OUT" ] || fail "stdout not empty with -q"
        mountpoint -q "$R/boot" || fail "/boot not mounted"
}

run_case "-bt prints the mount and changes nothing" bind_test_mode_changes_nothing
run_case "-b binds disk 0's ESP on /boot" bind_mounts_disk0_esp_on_boot
run_case "-b binds disk 1's ESP when booted from disk 1" bind_mounts_disk1_esp_when_booted_from_disk1
run_case "-b twice: the second says already bound, exit 0" bind_is_idempotent
run_case "-b refuses another filesystem on /boot, exit 1" bind_refuses_wrong_filesystem_on_boot
run_case "-b refuses a subdirectory of the ESP on /boot" bind_refuses_a_subdirectory_of_the_esp
run_case "-b warns loudly, naming files in an unmounted /boot" bind_warns_about_files_in_a_stale_boot
run_case "-b fails when the booted ESP is unknown" bind_fails_when_booted_esp_unknown
run_case "-b fails when the booted ESP is not mounted" bind_fails_when_booted_esp_not_mounted
run_case "-b EFI_MOUNT binds onto that directory" bind_onto_another_directory
run_case "-b onto a missing directory fails" bind_target_must_be_a_directory
run_case "-b refuses a symlinked target (B1); the mount table stays as it was" bind_refuses_a_symlinked_target
run_case "-q -b binds silently" bind_quiet_prints_nothing
finish
