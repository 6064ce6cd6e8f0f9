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

# DESIGN.md §4 B2: a config error that does not concern binding never stops -b.
CONF="$R/etc/dual-root/sync-daemon.conf"
B2_WARNING="binding the booted ESP on /boot despite this config error"

bind_binds_despite_a_typo_in_an_unrelated_key() {
        reset_machine
        booted_by_loader "$PU0"
        echo new >"$R/efi0/new-file"
        printf 'settle_time = 1\nsync_dealy = 10\n' >"$CONF"
        run_tool -b -s
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:2:1: unknown key 'sync_dealy' (did you mean 'sync_delay'?)"
        expect_stderr_has "$B2_WARNING, with every /efi<N> mount as ESP mount points (no usable esp_mounts in what could be read); no other action runs and the exit status is 2: fix the config"
        expect_stdout_has "mounted the booted ESP $DEV0: mount --bind /efi0 /boot"
        [ "$(devno_at "$R/boot")" = "$(devno_of "$DEV0")" ] || fail "/boot does not hold $DEV0"
        [ ! -e "$R/efi1/new-file" ] || fail "-s ran despite the config error"
        [ "$(grep -c "unknown key" "$ERR")" = 1 ] || fail "the config error was not said exactly once: $(cat "$ERR")"
        rm -f "$R/efi0/new-file"
}

# esp_mounts read intact from a file with errors elsewhere (even a syntax error after it) is
# used: the booted ESP is found at its mount point there, not at /efi0.
bind_uses_esp_mounts_from_a_broken_config() {
        reset_machine
        booted_by_loader "$PU0"
        case_cleanup() { umount "$R/esp-a" 2>/dev/null || true; rmdir "$R/esp-a" 2>/dev/null || true; }
        mkdir -p "$R/esp-a"
        mount "$DEV0" "$R/esp-a"
        umount "$R/efi0"
        printf 'esp_mounts = ["/esp-a", "/efi1"]\nnice = 99\nsettle_time = [\n' >"$CONF"
        run_tool -b
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:4:1: expected a value or ']' in the array opened at line 3, column 15, found end of file"
        expect_stderr_has "$B2_WARNING, with the ESP mount points of its esp_mounts"
        expect_stdout_has "mount --bind /esp-a /boot"
        [ "$(devno_at "$R/boot")" = "$(devno_of "$DEV0")" ] || fail "/boot does not hold $DEV0"
        umount "$R/boot"
        umount "$R/esp-a"
}

# A broken esp_mounts: every /efi<N> mount is the ESP set. The booted ESP is still the one the
# firmware names (D1): where it is not mounted on /efi<N>, nothing is bound.
bind_with_a_broken_esp_mounts_falls_back_to_efi_n() {
        reset_machine
        booted_by_loader "$PU1"
        case_cleanup() { umount "$R/esp-b" 2>/dev/null || true; rmdir "$R/esp-b" 2>/dev/null || true; }
        printf 'esp_mounts = "/esp-b"\n' >"$CONF"
        run_tool -b
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:1:14: esp_mounts must be an array of absolute paths, found a string"
        expect_stderr_has "$B2_WARNING, with every /efi<N> mount as ESP mount points"
        [ "$(devno_at "$R/boot")" = "$(devno_of "$DEV1")" ] || fail "/boot does not hold $DEV1"
        umount "$R/boot"
        # The booted ESP only at /esp-b, which the broken key meant: not bound, and said why.
        mkdir -p "$R/esp-b"
        mount "$DEV1" "$R/esp-b"
        umount "$R/efi1"
        run_tool -b
        expect_status 2
        expect_stderr_has "cannot bind the booted ESP $DEV1 onto '/boot': it is not mounted on any ESP mount point (/efi0, /efi1)"
        ! mountpoint -q "$R/boot" || fail "/boot was mounted"
        umount "$R/esp-b"
}

# DESIGN.md §4 B4: approach 2's sync list copies /boot (a root's directory, or its XBOOTLDR) to
# the twin: the ESP bound over it would hide the kernels. Refused, nothing bound, said what to do.
bind_refuses_over_a_boot_tree_the_sync_list_copies() {
        reset_machine
        booted_by_loader "$PU0"
        echo kernel >"$R/boot/vmlinuz-6.1"
        findmnt -rn -o TARGET,MAJ:MIN >"$W/mounts-before"
        for src in /boot/ /boot /boot/grub/; do
                printf 'esp_mounts = ["/efi0", "/efi1"]\nsync = [\n  ["%s", "/mnt/root1%s"],\n]\n' \
                        "$src" "$src" >"$CONF"
                for opt in -b -bt; do
                        run_tool $opt
                        expect_status 1
                        expect_stderr_has "not binding the booted ESP onto '/boot': the sync list's item $src -> /mnt/root1$src (/etc/dual-root/sync-daemon.conf, line 3) copies what '/boot' holds to a root's tree (approach 2: the kernels live in '/boot'), and the ESP bound over it would hide them from that item and from the boot loader. Nothing was bound; on approach 2 nothing is bound on '/boot': disable the bind at boot (systemctl disable bind-mount-efi.service)"
                        expect_stdout_lacks "mount --bind"
                done
        done
        findmnt -rn -o TARGET,MAJ:MIN >"$W/mounts-after"
        cmp -s "$W/mounts-before" "$W/mounts-after" || fail "the mount table changed: $(diff "$W/mounts-before" "$W/mounts-after")"
        [ -f "$R/boot/vmlinuz-6.1" ] || fail "/boot's kernel is hidden"
        # bound already (by hand, or before the config said so): said, and how to undo it
        mount --bind "$R/efi0" "$R/boot"
        run_tool -b
        expect_status 1
        expect_stderr_has "the booted ESP is bound onto '/boot', but the sync list's item /boot/grub/ -> /mnt/root1/boot/grub/"
        expect_stderr_has "Unmount it (umount '/boot') and disable the bind at boot"
        umount "$R/boot"
}

# B4 never refuses approach 1: /boot copied to an ESP mount point is the ESP's own copy, and
# other items do not concern /boot.
bind_approach1_with_a_sync_list_still_binds() {
        reset_machine
        booted_by_loader "$PU0"
        printf 'esp_mounts = ["/efi0", "/efi1"]\nsync = [\n  ["/boot/", "/efi1/"],\n  ["/boot/EFI/", "/efi1/EFI/"],\n  ["/etc/", "/mnt/root1/etc/"],\n  ["/", "/mnt/root1/", ["/boot/"]],\n]\n' >"$CONF"
        run_tool -b
        expect_status 0
        expect_stdout_has "mounted the booted ESP $DEV0: mount --bind /efi0 /boot"
        [ "$(devno_at "$R/boot")" = "$(devno_of "$DEV0")" ] || fail "/boot does not hold $DEV0"
        run_tool -b
        expect_status 0
        expect_stdout_has "'/boot' already holds the booted ESP $DEV0"
        umount "$R/boot"
        # no esp_mounts: the ESP mount points are every /efi<N>, /efi1 among them
        printf 'sync = [\n  ["/boot/", "/efi1/"],\n]\n' >"$CONF"
        run_tool -b
        expect_status 0
        expect_stdout_has "mounted the booted ESP $DEV0: mount --bind /efi0 /boot"
        umount "$R/boot"
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
run_case "-b binds despite a typo in an unrelated key (B2), exit 2; -s does not run" bind_binds_despite_a_typo_in_an_unrelated_key
run_case "-b uses esp_mounts read intact from a broken config (B2)" bind_uses_esp_mounts_from_a_broken_config
run_case "-b with a broken esp_mounts uses /efi<N>, never another filesystem (B2)" bind_with_a_broken_esp_mounts_falls_back_to_efi_n
run_case "-b refuses to hide a /boot tree the sync list copies (B4)" bind_refuses_over_a_boot_tree_the_sync_list_copies
run_case "-b binds on approach 1 whatever its sync list (B4)" bind_approach1_with_a_sync_list_still_binds
finish
