# SPDX-License-Identifier: MIT
# Case 10, guest half (host half: tests/vm/cases.d/dist.sh): dual-root installed from its
# .deb; its units neither enabled nor started; then, set up by hand as README.Debian says,
# `kernel-install add` of a new kernel version leaves kernel, initrd and loader entry on both
# ESPs when it returns, `kernel-install remove` takes them off both; the Debian postinst hook
# syncs too. Figures: how long `kernel-install add` takes with our plugin and without it.

DEB=/var/tmp/drvm-deb/dual-root.deb
TOKEN=drvm
PLUGIN_MASK=/etc/kernel/install.d/99-dual-root.install

# elapsed CMD...: runs CMD, its output logged; ELAPSED (seconds, 3 decimals), RC set.
elapsed() {
        local t0=$EPOCHREALTIME
        "$@" >"$WORK/cmd.out" 2>&1
        RC=$?
        ELAPSED=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
        say "LOG $DRVM_CASE \$ $* -> exit $RC in ${ELAPSED}s"
        sed 's/^/  out: /' "$WORK/cmd.out" | log
}

# on_both_esps KVER: kernel, initrd and entry of KVER on /efi0 and /efi1, equal to the source.
on_both_esps() {
        local e
        for e in /efi0 /efi1; do
                cmp -s "$KERNEL" "$e/$TOKEN/$1/linux" || return 1
                cmp -s "$INITRD" "$e/$TOKEN/$1/${INITRD##*/}" || return 1
                grep -q "^linux */$TOKEN/$1/linux\$" "$e/loader/entries/$TOKEN-$1.conf" || return 1
        done
}

# on_no_esp KVER: nothing of KVER on either ESP.
on_no_esp() {
        local e
        for e in /efi0 /efi1; do
                [ ! -e "$e/$TOKEN/$1" ] && [ ! -e "$e/loader/entries/$TOKEN-$1.conf" ] || return 1
        done
}

run_case10() {
        local out st u kver t_without t_with
        expect_booted 0
        check not-preinstalled "no dual-root-tool before the package" eval '! command -v dual-root-tool >/dev/null'

        # --- the package --------------------------------------------------------------
        out=$(dpkg -i "$DEB" 2>&1)
        st=$?
        sed 's/^/  dpkg: /' <<<"$out" | log
        check dpkg-install "dpkg -i dual-root.deb: exit $st" [ "$st" = 0 ]
        check installed "dpkg-query: $(dpkg-query -W -f '${Status} ${Version}' dual-root 2>&1)" \
                eval '[ "$(dpkg-query -W -f "\${Status}" dual-root 2>/dev/null)" = "install ok installed" ]'
        check postinst-message "postinst says the units are not enabled" eval '[[ $out == *"are NOT"*"enabled"* ]]'
        for u in bind-mount-efi.service dual-root-syncd.service; do
                check "$u-disabled" "$u: $(systemctl is-enabled "$u" 2>&1), $(systemctl is-active "$u" 2>&1)" \
                        eval '[ "$(systemctl is-enabled "$u" 2>&1)" = disabled ] && ! systemctl -q is-active "$u"'
        done
        check packaged-files "binary, plugin, Debian hooks, completion from the package" \
                dpkg -S /usr/bin/dual-root-tool /usr/lib/kernel/install.d/99-dual-root.install \
                /etc/kernel/postinst.d/zzz-dual-root /etc/kernel/postrm.d/zzz-dual-root \
                /etc/initramfs/post-update.d/dual-root /usr/share/bash-completion/completions/dual-root-tool

        # --- set up as README.Debian says: /boot is the booted ESP, synced once ----------
        tool -b
        check bind "-b: exit $TOOL_RC; /boot is $(mountpoint_dev /boot), /efi0 $(mountpoint_dev /efi0)" \
                eval '[ "$TOOL_RC" = 0 ] && [ "$(mountpoint_dev /boot)" = "$(mountpoint_dev /efi0)" ]'
        tool -s
        check first-sync "-s: exit $TOOL_RC" [ "$TOOL_RC" = 0 ]
        mkdir -p /etc/kernel/install.d
        echo "$TOKEN" >/etc/kernel/entry-token
        echo layout=bls >/etc/kernel/install.conf
        KERNEL=$(ls /boot/vmlinuz-* | head -n 1)
        INITRD=$(ls /boot/initrd.img-* | head -n 1)
        info "kernel-install with $KERNEL ($(stat -c %s "$KERNEL") bytes) and $INITRD ($(stat -c %s "$INITRD") bytes)"

        # --- three rounds: add without our plugin (masked), for the figure, then with it:
        # on both ESPs when kernel-install returns; remove: off both ---------------------
        local round without=() with=() ok_without=1 ok_add=1 ok_remove=1
        for round in 1 2 3; do
                ln -sf /dev/null "$PLUGIN_MASK"
                kver=6.1.0-drvm-without$round
                elapsed kernel-install add "$kver" "$KERNEL" "$INITRD"
                without+=("$ELAPSED")
                [ "$RC" = 0 ] && [ -f "/efi0/$TOKEN/$kver/linux" ] && [ ! -e "/efi1/$TOKEN/$kver" ] || ok_without=
                elapsed kernel-install remove "$kver"
                rm -f "$PLUGIN_MASK"

                kver=6.1.0-drvm-test$round
                elapsed kernel-install add "$kver" "$KERNEL" "$INITRD"
                with+=("$ELAPSED")
                [ "$RC" = 0 ] && on_both_esps "$kver" || ok_add=
                elapsed kernel-install remove "$kver"
                [ "$RC" = 0 ] && on_no_esp "$kver" || ok_remove=
        done
        check add-without-plugin "plugin masked: exit 0, kernel on /efi0 only, 3 times" [ -n "$ok_without" ]
        check add-both-esps "kernel-install add: exit 0, kernel, initrd and entry on /efi0 and /efi1 at return, 3 times" \
                [ -n "$ok_add" ]
        check remove-both-esps "kernel-install remove: exit 0, nothing of it on /efi0 or /efi1 at return, 3 times" \
                [ -n "$ok_remove" ]
        t_with=$(printf '%s\n' "${with[@]}" | sort -n | sed -n 2p)
        t_without=$(printf '%s\n' "${without[@]}" | sort -n | sed -n 2p)
        info "kernel-install add, median of 3: ${t_with}s with the dual-root plugin (${with[*]})," \
                "${t_without}s without (${without[*]}): the plugin's sync adds" \
                "$(awk -v a="$t_with" -v b="$t_without" 'BEGIN { printf "%.3f", a - b }')s"
        # What the plugin's time is made of (issue 22): the two runs of the tool hook-sync
        # makes, each with nothing left to do, and a process start for scale.
        local part parts=()
        for part in "dual-root-tool -s -q" "dual-root-tool --assert-boot-entries -q" "/bin/true"; do
                # shellcheck disable=SC2086
                elapsed $part
                parts+=("$part: ${ELAPSED}s")
        done
        info "the plugin's parts, nothing to copy: $(printf '%s; ' "${parts[@]}")"
        check other-entries-kept "debian.conf still on both ESPs" \
                eval '[ -f /efi0/loader/entries/debian.conf ] && [ -f /efi1/loader/entries/debian.conf ]'

        # --- the Debian kernel hooks, as a linux-image package runs them ----------------
        cp "$KERNEL" /boot/vmlinuz-6.1.0-drvm-deb
        out=$(DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/zzz-dual-root 6.1.0-drvm-deb /boot/vmlinuz-6.1.0-drvm-deb 2>&1 </dev/null)
        st=$?
        sed 's/^/  postinst.d: /' <<<"$out" | log
        check postinst-hook "postinst.d/zzz-dual-root: exit $st, the new kernel on /efi1" \
                eval '[ "$st" = 0 ] && cmp -s /boot/vmlinuz-6.1.0-drvm-deb /efi1/vmlinuz-6.1.0-drvm-deb'
        rm /boot/vmlinuz-6.1.0-drvm-deb
        out=$(DEB_MAINT_PARAMS=remove /etc/kernel/postrm.d/zzz-dual-root 6.1.0-drvm-deb /boot/vmlinuz-6.1.0-drvm-deb 2>&1 </dev/null)
        st=$?
        sed 's/^/  postrm.d: /' <<<"$out" | log
        check postrm-hook "postrm.d/zzz-dual-root: exit $st, the kernel gone from /efi1" \
                eval '[ "$st" = 0 ] && [ ! -e /efi1/vmlinuz-6.1.0-drvm-deb ]'
}
