# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Case 13: an md RAID1 root (tests/vm/build-image-md: two disks, each an ESP and a member of
# an md raid1, metadata 1.2, holding the ext4 root). Three boots:
#   1 both disks: --status judges the array (in sync, each disk assembles it alone, the
#     mdadm.conf line); an ESP mirrored on md (a real raid1 of metadata 1.0 made in the
#     guest, mounted on /efi5) is refused with the way out;
#   2 disk 0 replaced by a blank disk: --status CRITICAL naming the missing member; --add-disk
#     rebuilds the array onto the new disk (the recovery timed), the report then says the new
#     disk boots alone;
#   3 the new disk alone: it boots, its root assembled degraded from its member.

title[13]="md RAID1 root: judged by --status; disk 0 replaced by a blank disk, --add-disk rebuilds the array; the new disk boots alone"

case13() {
        local env dir e0 e1 new
        if ! env=$("$DRVM_DIR/build-image-md"); then
                not_run 13 "the case 13 image could not be built (tests/vm/build-image-md)"
                return
        fi
        dir=$(sed -n 's/^DRVM_MD_IMG_DIR=//p' <<<"$env")
        [ -f "$dir/ok" ] || { not_run 13 "no case 13 image in '$dir'"; return; }
        e0=$(fresh c13.disk0 "$dir/disk0.img")
        e1=$(fresh c13.disk1 "$dir/disk1.img")
        # the root slot (6) holds nothing of its own here: a blank spare disk for boot 1
        new=$work/c13.new.qcow2
        qemu-img create -q -f qcow2 "$new" "$(stat -c %s "$dir/disk0.img")"
        boot case13-healthy 13 "$DRVM_VARS_DIR/esp0first.fd" "$e0" "$e1" "$new" || return 0
        # disk 0 gone, disk 1 and a blank replacement (slot 6)
        # the rebuild copies the whole array (about 1 GiB) under TCG: more time for this boot
        DRVM_BOOT_TIMEOUT=$((DRVM_BOOT_TIMEOUT + 300)) boot case13-add 13 "$DRVM_VARS_DIR/esp1first.fd" - "$e1" "$new" || return 0
        # the NVRAM as boot 2 left it (BootNext: the new disk's entry), the new disk alone
        boot case13-alone 13 "$work/case13-add.fd" - - "$new" || true
}
