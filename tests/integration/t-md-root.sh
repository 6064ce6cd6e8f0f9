#!/bin/bash
# SPDX-License-Identifier: MIT
# --status on an md RAID1 root (DESIGN.md §11 rules S10, S11), where the kernel has md: the fake
# root is an ext4 on a raid1 (metadata 1.2) over two loop devices; then one member is failed
# and removed. Skipped, saying so, where the kernel has no md (this development machine): the
# md reader is unit-tested on sysfs fixtures (tests/unit/test-md.c) and the real array, the
# rebuild by --add-disk and the boot from each disk alone are proven in the VM (case 13).
. "$(dirname "$0")/lib.sh"

if ! grep -qw md /proc/devices 2>/dev/null; then
        echo "SKIP: this kernel has no md (no 'md' block major in /proc/devices): the md root is tested in the VM (tests/vm, case 13)"
        exit 77
fi
command -v mdadm >/dev/null || {
        echo "SKIP: no mdadm"
        exit 77
}

MD=/dev/md/dual-root-test
for n in 0 1; do
        truncate -s 128M "$W/member$n.img"
        eval "MEM$n=\$(losetup --find --show \"\$W/member\$n.img\")"
        eval "echo \"\$MEM$n\"" >>"$W/loops"
done
mdadm --create "$MD" --run --quiet --level=1 --metadata=1.2 --raid-devices=2 \
        --assume-clean "$MEM0" "$MEM1"
stop_md() { mdadm --stop "$MD" >/dev/null 2>&1 || true; }
trap 'stop_md; cleanup' EXIT
mkfs.ext4 -q "$MD"
ROOT_DEVICE=$MD
make_two_disk_machine
TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4"
ARRAY=$(basename "$(readlink -f "$MD")")

md_root_in_sync_is_ok() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool --status
        expect_stdout_has "OK root: the root's $ARRAY: raid1, "
        expect_stdout_has "2 of 2 members in sync: $(basename "$MEM0") on $(basename "$MEM0") (slot 0, in_sync)"
        expect_stdout_has "no mdadm.conf: the initrd assembles $ARRAY by scanning"
}

md_root_missing_line_warns() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/etc/mdadm"
        printf 'ARRAY /dev/md/other UUID=0c6a1f5e:2b774d0e:9a3c5e8d:7f61b209\n' >"$R/etc/mdadm/mdadm.conf"
        run_tool --status
        expect_stdout_has "WARNING root: /etc/mdadm/mdadm.conf has no ARRAY line for $ARRAY"
        rm -r "$R/etc/mdadm"
}

md_root_degraded_is_critical() {
        reset_machine
        booted_by_loader "$PU0"
        mdadm --manage "$MD" --fail "$MEM1" --remove "$MEM1" >/dev/null 2>&1
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL root: the root's $ARRAY (raid1) is degraded: 1 of its 2 members missing: slot 1: no device"
}

run_case "an md raid1 root in sync: OK, members named" md_root_in_sync_is_ok
run_case "no ARRAY line for the root's array in mdadm.conf: WARNING" md_root_missing_line_warns
run_case "a degraded md root: CRITICAL naming the missing slot" md_root_degraded_is_critical
finish
