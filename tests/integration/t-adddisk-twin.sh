#!/bin/bash
# SPDX-License-Identifier: MIT
# --add-disk on a running one-disk machine of approach 2 (DESIGN.md §12b, twin-lib.sh): the
# config it asks for, -t changing nothing, a non-blank disk refused, then the twin made (its
# filesystems like the booted disk's with the disk's label suffix, mounted under /mnt/root1
# from nofail fstab lines, the first copy through the sync with the identifiers swapped), and a
# second run keeping everything.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/twin-lib.sh"

twin_machine

# An ext4's mkfs choices as dumpe2fs reads them: "BLOCK-SIZE INODE-SIZE FEATURES" (the journal's
# needs_recovery is the mounted filesystem's state, not a choice).
fs_choices() {
        dumpe2fs -h "$1" 2>/dev/null | awk -F':[ \t]*' '
                /^Filesystem features:/ { f = $2 } /^Block size:/ { b = $2 } /^Inode size:/ { i = $2 }
                END { gsub(/ needs_recovery/, "", f); print b, i, f }'
}
# The mke2fs options that make a filesystem with those choices.
mkfs_alike() {
        fs_choices "$1" | { read -r b i f; printf -- '-b %s -I %s -O none,%s' "$b" "$i" "${f// /,}"; }
}

# Two active swap files, as /proc/swaps lists them (bound over it in this namespace: no swap is
# turned on), one on the root's tree, one on the XBOOTLDR's (a name with a space and an rsync
# wildcard); a swap partition is no file of any tree (§12b A5).
head -c 1048576 /dev/zero >"$R/swapfile"
head -c 65536 /dev/zero >"$R/boot/swap file[1]"
# and one on a filesystem no item copies (the "/" item's rsync -x stays off it): nothing to exclude
mkdir -p "$R/srv/other"
mount -t tmpfs -o size=1m dual-root-test-other "$R/srv/other"
head -c 65536 /dev/zero >"$R/srv/other/swapfile"
printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n%s\tpartition\t8188\t0\t-2\n%s\tfile\t1020\t0\t-3\n%s\tfile\t60\t0\t-4\n%s\tfile\t60\t0\t-5\n' \
        "$SWAP0" /swapfile '/boot/swap\040file[1]' /srv/other/swapfile >"$W/swaps"
mount --bind "$W/swaps" "$R/proc/swaps"

the_twin_is_made_once() {
        before=$(untouched)
        # no config yet: the booted ESP's mount point is no ESP mount point: the line to set
        # and the next command (A8)
        add_disk --add-disk "$NEW" -t
        expect_status 1
        expect_stderr_has 'it is mounted on /efi, which the config does not name'
        expect_stderr_has "set in $CONF: esp_mounts = [\"/efi\", \"/mnt/root1/efi\"], then run: dual-root-tool --add-disk $NEW -t"
        [ "$(untouched)" = "$before" ] || fail "a refused -t changed something"
        echo 'esp_mounts = ["/efi", "/mnt/root1/efi"]' >"$R$CONF"
        # then: refused at step 1, the whole text to set printed, nothing changed (A5)
        add_disk --add-disk "$NEW" -t
        expect_status 1
        expect_stderr_has "step 1/7 (check) failed: the config $CONF does not keep the twin in sync"
        expect_stderr_has 'esp_mounts = ["/efi", "/mnt/root1/efi"]'
        expect_stderr_has '["/boot/", "/mnt/root1/boot/", ["/swap file\\[1]"]],'
        expect_stderr_has '["/etc/", "/mnt/root1/etc/"],'
        expect_stderr_has '["/", "/mnt/root1/", ["/boot/", "/etc/", "/efi/", "/dev/*", "/proc/*", "/sys/*", "/run/*", "/tmp/*", "/mnt/*", "/swapfile"]],'
        expect_stderr_has "swap_ids = [\"$FSTAB\", \"/boot/loader/entries/\"]"
        expect_stderr_has "Nothing was changed."
        [ "$(untouched)" = "$before" ] || fail "a refused -t changed something"
        # the printed text is the config to use
        printed_config >"$R$CONF"
        grep -q '^swap_ids' "$R$CONF" || fail "no config text was printed"
        # without an active swap file's exclusion: refused, naming it
        sed -i 's|, "/swapfile"]|]|' "$R$CONF"
        add_disk --add-disk "$NEW" -t
        expect_status 1
        expect_stderr_has 'it lacks the / item'"'"'s exclusion of /swapfile (an active swap file)'
        printed_config >"$R$CONF"

        # -t: the whole plan, nothing changed (A9)
        add_disk --add-disk "$NEW" -t
        expect_status 0
        expect_stdout_has "approach 2: the root is neither btrfs nor on md, so $NEW becomes the twin"
        expect_stdout_has "partition 2: XBOOTLDR, ext4 'boot0' on /boot -> the twin's: ext4 'boot1' on /mnt/root1/boot"
        expect_stdout_has "partition 3: ext4 'root0' on / -> the twin's: ext4 'root1' on /mnt/root1"
        expect_stdout_has "partition 4: swap 'swap0' on swap -> the twin's: swap 'swap1' on swap"
        expect_stdout_has "/efi/EFI/systemd/drivers/ has a driver for the ext4 XBOOTLDR"
        expect_stdout_has "the new ESP's mount point: /mnt/root1/efi (the twin's root is mounted on /mnt/root1)"
        expect_stdout_has "step 4/7, filesystems and mounts:"
        # each ext4 made like its twin (A2): the mounted root's needs_recovery is left out
        [ "$(mkfs_alike "$BOOT0")" = "-b 4096 -I 128 -O none,has_journal,ext_attr,resize_inode,dir_index,filetype,extent,flex_bg,sparse_super,large_file,huge_file,dir_nlink,extra_isize" ] ||
                fail "the XBOOTLDR was not made as the test meant: $(mkfs_alike "$BOOT0")"
        expect_stdout_has "would run: mkfs.ext4 $(mkfs_alike "$ROOT0") -L root1 '<partition 3 of the new disk>'"
        expect_stdout_has "would run: mkfs.ext4 $(mkfs_alike "$BOOT0") -L boot1 '<partition 2 of the new disk>'"
        expect_stdout_has "$ROOT0's features needs_recovery are its state, not choices made at mkfs: not given"
        expect_stdout_has "would run: mkswap -L swap1 '<partition 4 of the new disk>'"
        expect_stdout_has "UUID=<the new filesystem's> /mnt/root1 ext4 defaults,nofail,x-systemd.device-timeout=30s 0 1"
        expect_stdout_has "UUID=<the new filesystem's> /mnt/root1/boot ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2"
        expect_stdout_has "would run: mkfs.vfat -F 32 -n ESP1 '<the new ESP partition>'"
        expect_stdout_has "step 7/7, first copy:"
        expect_stdout_has "would copy / -> /mnt/root1/ (the normal sync"
        expect_stdout_has "would copy /boot/ -> /mnt/root1/boot/ (the normal sync"
        [ "$(untouched)" = "$before" ] || fail "-t changed something"

        # a disk holding a filesystem: refused without --force, nothing changed
        mkfs.ext4 -q -L old "$NEW"
        before=$(untouched)
        add_disk --add-disk "$NEW"
        expect_status 1
        expect_stderr_has "$NEW is not blank: it holds an ext4 signature"
        [ "$(untouched)" = "$before" ] || fail "a refused run changed something"

        # --force: the table, then the partition devices do not appear (as udev would make them)
        add_disk --add-disk "$NEW" --force
        expect_status 1
        expect_stderr_has "step 3/7 (partition devices) failed"
        twin_devices
        add_disk --add-disk "$NEW"
        expect_status 1
        expect_stdout_has "running: mkfs.ext4 $(mkfs_alike "$ROOT0") -L root1 $P3"
        expect_stdout_has "mounted $P3 on /mnt/root1"
        expect_stdout_has "running: mkfs.ext4 $(mkfs_alike "$BOOT0") -L boot1 $P2"
        expect_stdout_has "mounted $P2 on /mnt/root1/boot"
        expect_stdout_has "running: mkswap -L swap1 $P4"
        expect_stderr_has "step 4/7 (filesystems and mounts) failed: cannot mount /mnt/root1/efi"
        [ "$(blkid -o value -s LABEL "$P3")" = root1 ] || fail "the twin's root is not labelled root1"
        [ "$(fs_choices "$P2")" = "$(fs_choices "$BOOT0")" ] ||
                fail "the twin's XBOOTLDR is not made like boot0: $(fs_choices "$P2") / $(fs_choices "$BOOT0")"
        [ "$(fs_choices "$P3")" = "$(fs_choices "$ROOT0")" ] ||
                fail "the twin's root is not made like root0: $(fs_choices "$P3") / $(fs_choices "$ROOT0")"
        [ "$(blkid -o value -s LABEL "$P4")" = swap1 ] || fail "the twin's swap is not labelled swap1"
        [ "$(blkid -o value -s TYPE "$P4")" = swap ] || fail "the twin's swap is not swap"
        grep -q "^UUID=$(blkid -o value -s UUID "$P3") /mnt/root1 ext4 defaults,nofail" "$R$FSTAB" ||
                fail "fstab lacks the twin root's nofail line: $(cat "$R$FSTAB")"
        [ -f "$R$FSTAB.dual-root.bak" ] || fail "the old fstab was not kept"
        # the FAT was made; this kernel cannot mount it: its ext4 stand-in is mounted instead
        mkfs_esp "$P1" "$FS1" ESP1
        mount "$P1" "$R/mnt/root1/efi"
        fake_partition "$P1" "$(basename "$NEW")" 1 $S1 $((M1 * 2048))

        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "kept: $P3 is mounted on /mnt/root1"
        expect_stdout_has "synced /efi/ -> /mnt/root1/efi/"
        expect_stdout_has "copied / -> /mnt/root1/"
        expect_stdout_has "copied /boot/ -> /mnt/root1/boot/"
        cmp -s "$R/srv/data/blob" "$R/mnt/root1/srv/data/blob" || fail "the root's files were not copied"
        cmp -s "$R/etc/marker" "$R/mnt/root1/etc/marker" || fail "/etc was not copied"
        cmp -s "$R/boot/vmlinuz-6.1" "$R/mnt/root1/boot/vmlinuz-6.1" || fail "/boot was not copied"
        [ ! -e "$R/mnt/root1/swapfile" ] || fail "the root's active swap file was copied"
        [ ! -e "$R/mnt/root1/boot/swap file[1]" ] || fail "the XBOOTLDR's active swap file was copied"
        [ -f "$R/mnt/root1/efi/EFI/systemd/drivers/ext4_x64.efi" ] || fail "the driver is not on the new ESP"
        root1=$(blkid -o value -s UUID "$P3")
        grep -q "root=UUID=$root1 " "$R/mnt/root1/boot/loader/entries/debian.conf" ||
                fail "the twin's entry does not name its own root: $(cat "$R/mnt/root1/boot/loader/entries/debian.conf")"
        grep -q "^UUID=$root1 / ext4" "$R/mnt/root1$FSTAB" ||
                fail "the twin's fstab does not mount its own root: $(cat "$R/mnt/root1$FSTAB")"

        # once more: every step keeps what is there
        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_lacks "running: mk"
        expect_stdout_has "kept: $P3 already holds ext4 'root1'"
        expect_stdout_has "kept: $P2 is mounted on /mnt/root1/boot"
        expect_stdout_has "kept: /mnt/root1/efi already has its boot entry"

        # -q, its boot entry gone meanwhile: made again, nothing said
        booted_by_loader "$PU0"
        add_disk --add-disk "$NEW" -q
        expect_status 0
        [ ! -s "$OUT" ] || fail "-q said something on stdout"
        ls "$R"/efivars/Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F]-* >/dev/null 2>&1 ||
                fail "-q did not make the boot entry again"
}

run_case "a running one-disk machine gets its approach-2 twin, once" the_twin_is_made_once
finish
