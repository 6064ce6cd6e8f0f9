# SPDX-License-Identifier: MIT
# Case 10 (distribution integration, DESIGN.md §8): the guest installs dual-root from the
# .deb that `make deb` built (DUAL_ROOT_DEB; scripts/check sets it), nothing copied by
# hand, and kernel-install add/remove put a new kernel on and off both ESPs before they
# return. Guest half: guest/cases.d/dist.sh. Without DUAL_ROOT_DEB the case is skipped.

title[10]="install the .deb; kernel-install add/remove reach both ESPs before returning"

case10() {
        local DRVM_TOOLDIR features x
        if [ -z "${DUAL_ROOT_DEB:-}" ]; then
                printf '    SKIP case10: DUAL_ROOT_DEB is not set (make deb builds the package; scripts/check sets it)\n'
                record "CHECK 10 SKIP"
                return 0
        fi
        if [ ! -f "$DUAL_ROOT_DEB" ]; then
                printf '    FAIL case10: DUAL_ROOT_DEB=%s is not a file\n' "$DUAL_ROOT_DEB"
                record "CHECK 10 FAIL"
                return 0
        fi
        # Only the package goes in (to /var/tmp): no binary, no unit, no config.
        DRVM_TOOLDIR=$work/tool-deb
        install -D -m 0644 "$DUAL_ROOT_DEB" "$DRVM_TOOLDIR/var/tmp/drvm-deb/dual-root.deb"
        x=$(mktemp -d "$work/deb-x.XXXXXX")
        dpkg-deb -x "$DUAL_ROOT_DEB" "$x"
        features=$(drvm_tool_features "$x/usr/bin/dual-root-tool")
        rm -rf "$x"
        printf '    package %s, features: %s\n' "$(basename "$DUAL_ROOT_DEB")" "${features:-none}"
        boot case10 10 "$DRVM_VARS_DIR/esp0first.fd" "$(fresh c10.esp0 "$DRVM_ESP_DIR/esp0.img")" \
                "$(fresh c10.esp1 "$DRVM_ESP_DIR/esp1.img")" "$(fresh c10.root "$DRVM_ROOT_DIR/root.img")"
}
