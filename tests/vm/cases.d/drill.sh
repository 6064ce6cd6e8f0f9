# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Case 21: the failover drill (--prove, DESIGN.md §13) on real firmware, three boots on the
# same disks, each starting from the NVRAM the one before left. Guest halves in
# guest/cases.d/drill.sh.

title[21]="--prove --reboot from disk 0: OVMF follows BootNext to disk 1, -b records the proof; then disk 0's loader removed after --prove: the firmware falls back to disk 1, a failed drill, CRITICAL"

case21() {
        local e0 e1 r
        e0=$(fresh c21.esp0 "$DRVM_ESP_DIR/esp0.img")
        e1=$(fresh c21.esp1 "$DRVM_ESP_DIR/esp1.img")
        r=$(fresh c21.root "$DRVM_ROOT_DIR/root.img")
        boot case21-prove 21 "$DRVM_VARS_DIR/esp0first.fd" "$e0" "$e1" "$r" &&
                boot case21-proven 21 "$work/case21-prove.fd" "$e0" "$e1" "$r" &&
                boot case21-failed 21 "$work/case21-proven.fd" "$e0" "$e1" "$r"
}
