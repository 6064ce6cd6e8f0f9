#!/bin/bash
# SPDX-License-Identifier: MIT
# --add-disk on the approach-2 layout (twin-lib.sh) whose XBOOTLDR is a btrfs made with other
# choices than mkfs.btrfs's defaults (DESIGN.md §12b A2, btrfsfeat.c): -t shows the mkfs.btrfs
# argv read from its superblock; a flag mkfs.btrfs cannot make refuses the step, naming it.
# The real run's mkfs is not tried here: mkfs.btrfs takes a loop partition of the new disk's
# image for a mounted one once the twin's root (another loop device over the same file) is
# mounted; nor an xfs: mkfs.xfs 6.1 makes none under 300 MB. The unit tests test-btrfsfeat and
# test-xfsfeat make images of their own for the round trip (mkfs with the argv read back).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/twin-lib.sh"

twin_machine

# The XBOOTLDR made again as btrfs, its files kept, its fstab line and its driver on the ESP
# (A6) to match: mixed block groups (4 KiB nodes), xxhash, no no-holes, no free space tree.
cp -a "$R/boot" "$W/boot-files"
umount "$R/boot"
# made in a file and copied in: mkfs.btrfs takes the partition (a loop device over the image
# the mounted root's loop device also reads) for a mounted one
truncate -s "${M2}M" "$W/boot0.img"
mkfs.btrfs -q -f -L boot0 -M -O ^no-holes -R ^free-space-tree --csum xxhash "$W/boot0.img" >/dev/null
dd if="$W/boot0.img" of="$BOOT0" bs=1M conv=fsync status=none
rm "$W/boot0.img"
mount "$BOOT0" "$R/boot"
cp -a "$W/boot-files/." "$R/boot/"
sed -i "s|^UUID=[^ ]* /boot ext4 defaults|UUID=$(blkid -o value -s UUID "$BOOT0") /boot btrfs defaults|" "$R$FSTAB"
grep -q ' /boot btrfs ' "$R$FSTAB" || fail "the test's fstab was not changed: $(cat "$R$FSTAB")"
loader_file efi 16384 "$R/efi/EFI/systemd/drivers/btrfs_x64.efi"

# A btrfs's mkfs choices as btrfs-progs reads them (its own reader, not ours): the test's
# XBOOTLDR is what it means to be.
btrfs_choices() {
        btrfs inspect-internal dump-super "$1" |
                awk '$1 ~ /^(sectorsize|nodesize|csum_type|compat_flags|compat_ro_flags|incompat_flags)$/ { printf "%s=%s ", $1, $2 }'
}
[ "$(btrfs_choices "$BOOT0")" = "csum_type=1 sectorsize=4096 nodesize=4096 compat_flags=0x0 compat_ro_flags=0x0 incompat_flags=0x145 " ] ||
        fail "the XBOOTLDR was not made as the test meant: $(btrfs_choices "$BOOT0")"

ALIKE="-s 4096 -n 4096 --csum xxhash -O 'mixed-bg,extref,skinny-metadata,^no-holes' -R '^free-space-tree'"

the_btrfs_twin_is_planned_alike() {
        echo 'esp_mounts = ["/efi", "/mnt/root1/efi"]' >"$R$CONF"
        add_disk --add-disk "$NEW" -t
        expect_status 1
        printed_config >"$R$CONF"
        grep -q '^swap_ids' "$R$CONF" || fail "no config text was printed: $(cat "$ERR")"

        before=$(untouched)
        add_disk --add-disk "$NEW" -t
        expect_status 0
        expect_stdout_has "partition 2: XBOOTLDR, btrfs 'boot0' on /boot -> the twin's: btrfs 'boot1' on /mnt/root1/boot"
        expect_stdout_has "/efi/EFI/systemd/drivers/ has a driver for the btrfs XBOOTLDR"
        expect_stdout_has "would run: mkfs.btrfs $ALIKE -L boot1 '<partition 2 of the new disk>'"
        expect_stdout_lacks "known limit"
        [ "$(untouched)" = "$before" ] || fail "-t changed something"

        # a flag mkfs.btrfs 6.2 cannot make (block-group-tree, compat_ro 0x8) refuses the step,
        # naming it; nothing is changed. The superblock is read from the partition: the flag is
        # set in a copy of it, the booted XBOOTLDR's device bound over by that copy.
        dd if="$BOOT0" of="$W/boot-sb.img" bs=1M count=1 status=none
        printf '\010' | dd of="$W/boot-sb.img" bs=1 seek=$((65536 + 0xB4)) conv=notrunc status=none
        [ "$(btrfs inspect-internal dump-super -F "$W/boot-sb.img" | awk '$1 == "compat_ro_flags" { print $2 }')" = 0x8 ] ||
                fail "the test's copy lacks block-group-tree"
        mount --bind "$W/boot-sb.img" "$R$BOOT0"
        add_disk --add-disk "$NEW" -t
        umount "$R$BOOT0"
        expect_status 1
        expect_stderr_has "cannot make partition 2's btrfs like its twin's (partition 2 of"
        expect_stderr_has "block-group-tree (compat_ro_flags 0x8): Debian 12's mkfs.btrfs 6.2 makes it only in an experimental build"
        [ "$(untouched)" = "$before" ] || fail "a refused -t changed something"
}

run_case "a btrfs XBOOTLDR's twin: -t shows mkfs.btrfs with its choices; a flag mkfs.btrfs cannot make refuses" the_btrfs_twin_is_planned_alike
finish
