# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Case 12: --add-disk on approach 1 (tests/vm/build-image-disk: two disks, each an ESP and a
# partition of a btrfs raid1 root). Boot 1: disk 0 replaced by a blank disk (the root mounts
# degraded), the command run, its result checked (the new ESP takes the dead disk's /efi0 and its
# fstab line; --status OK at the end); boot 2: only the new disk attached.

title[12]="--add-disk: disk 0 replaced by a blank disk (btrfs root degraded), made a member in its place (/efi0, its fstab line), --status OK; then it boots alone"

case12() {
        local env dir e1 new
        if ! env=$("$DRVM_DIR/build-image-disk"); then
                not_run 12 "the case 12 image could not be built (tests/vm/build-image-disk)"
                return
        fi
        dir=$(sed -n 's/^DRVM_DISK_IMG_DIR=//p' <<<"$env")
        [ -f "$dir/ok" ] || { not_run 12 "no case 12 image in '$dir'"; return; }
        e1=$(fresh c12.disk1 "$dir/disk1.img")
        new=$work/c12.new.qcow2
        qemu-img create -q -f qcow2 "$new" "$(stat -c %s "$dir/disk0.img")"
        # slot 4 empty (disk 0 gone), slot 5 the good disk, slot 6 the blank replacement
        boot case12-add 12 "$DRVM_VARS_DIR/esp1first.fd" - "$e1" "$new" || return 0
        # the NVRAM as the first boot left it (with the new disk's entry), the new disk alone
        boot case12-alone 12 "$work/case12-add.fd" - - "$new" || true
}
