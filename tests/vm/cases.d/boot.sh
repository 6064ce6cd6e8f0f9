# SPDX-License-Identifier: MIT
# Boot readiness (--status) and --fix-boot-entries on real firmware (cases 8, 9). Sourced by
# tests/vm/run; the guest halves are in guest/cases.d/boot.sh.

title[8]="--status OK from disk 0; disk 1's Boot#### deleted: WARNING, --fix-boot-entries recreates it; BootNext to it boots disk 1"
title[9]="--status CRITICAL: a kernel set missing on disk 1's ESP; then disk 1 missing"

# Both boots on the same disks; the second starts from the NVRAM the first left (OVMF writes
# its variable store back into the .fd file), so the entry the tool created and BootNext are
# what the firmware sees.
case8() {
        local e0 e1 r
        e0=$(fresh c8.esp0 "$DRVM_ESP_DIR/esp0.img")
        e1=$(fresh c8.esp1 "$DRVM_ESP_DIR/esp1.img")
        r=$(fresh c8.root "$DRVM_ROOT_DIR/root.img")
        boot case8-fix 8 "$DRVM_VARS_DIR/esp0first.fd" "$e0" "$e1" "$r" &&
                boot case8-next 8 "$work/case8-fix.fd" "$e0" "$e1" "$r"
}

case9() {
        local e0 e1 r
        e0=$(fresh c9.esp0 "$DRVM_ESP_DIR/esp0.img")
        e1=$(fresh c9.esp1 "$DRVM_ESP_DIR/esp1.img")
        r=$(fresh c9.root "$DRVM_ROOT_DIR/root.img")
        boot case9-kernel 9 "$DRVM_VARS_DIR/esp0first.fd" "$e0" "$e1" "$r" &&
                boot case9-missing 9 "$DRVM_VARS_DIR/esp0first.fd" "$e0" - "$r"
}
