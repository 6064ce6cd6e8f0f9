#!/bin/bash
# SPDX-License-Identifier: MIT
# The package hooks (DESIGN.md §8), installed by `meson install` into the fake root as a
# package would install them: each against a fake dual-root-tool (its arguments, stdin and
# stdout, each exit status, the degraded case, when to skip) and against the real one on
# the two-ESP loop-device machine, the kernel-install plugin under the real kernel-install.
. "$(dirname "$0")/lib.sh"

: "${BUILD_ROOT:?BUILD_ROOT must name the meson build directory}"

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"

# A writable /usr for the fake root (an overlay over the host's, in our private mount
# namespace): the hooks live where a package puts them, and a case may replace
# /usr/bin/dual-root-tool, bootctl or logger.
mkdir "$W/usr-upper" "$W/usr-work"
mount -t overlay dual-root-usr -o "lowerdir=/usr,upperdir=$W/usr-upper,workdir=$W/usr-work" "$R/usr"
DESTDIR="$W/inst" meson install -C "$BUILD_ROOT" --no-rebuild --quiet >/dev/null
cp -a "$W/inst/." "$R/"
cp "$R/usr/bin/dual-root-tool" "$W/real-tool"
HOOKDIR=$(cd "$W/inst" && dirname "$(find . -name hook-sync -printf '%P\n')")
PLUGIN=/usr/lib/kernel/install.d/99-dual-root.install
POSTINST=/etc/kernel/postinst.d/zzz-dual-root
POSTRM=/etc/kernel/postrm.d/zzz-dual-root
INITRAMFS=/etc/initramfs/post-update.d/dual-root
PACMAN_HOOK=/usr/share/libalpm/hooks/95-dual-root.hook
for f in "$PLUGIN" "$POSTINST" "$POSTRM" "$INITRAMFS" "/$HOOKDIR/hook-sync"; do
        [ -x "$R$f" ] || { echo "not ok - meson install put no executable $f"; exit 1; }
done
[ -f "$R$PACMAN_HOOK" ] || { echo "not ok - meson install put no $PACMAN_HOOK"; exit 1; }

FAKELOG="$R/tmp/fake-tool.log"

# fake_tool RC [STDERR_LINE]: /usr/bin/dual-root-tool records how it was run (arguments,
# where its stdin, stdout and stderr go, whether the entry directory /boot/drtest/6.1.0-t
# still exists), prints a line on stdout and one on stderr, and exits RC.
fake_tool() {
        cat >"$R/usr/bin/dual-root-tool" <<EOF
#!/bin/sh
{
        echo "args=\$*"
        echo "rc=$1"
        echo "stdin=\$(readlink /proc/\$\$/fd/0)"
        echo "stdout=\$(readlink /proc/\$\$/fd/1)"
        echo "stderr=\$(readlink /proc/\$\$/fd/2)"
        if [ -e /boot/drtest/6.1.0-t ]; then echo "entry_dir=present"; else echo "entry_dir=gone"; fi
} >>/tmp/fake-tool.log
echo "fake tool stdout"
echo "${2:-fake tool stderr}" >&2
[ "$1" != crash ] || kill -SEGV \$\$
exit $1
EOF
        chmod 0755 "$R/usr/bin/dual-root-tool"
        rm -f "$FAKELOG"
}

real_tool() {
        cp "$W/real-tool" "$R/usr/bin/dual-root-tool"
}

# fake_bootctl RC: /usr/bin/bootctl whose is-installed exits RC (systemd-boot there or not).
fake_bootctl() {
        printf '#!/bin/sh\n[ "$1" = is-installed ] && exit %s\nexit 1\n' "$1" >"$R/usr/bin/bootctl"
        chmod 0755 "$R/usr/bin/bootctl"
}

# A logger that records what would reach the journal: its message, or without one (after
# "--") each line of its standard input, as logger(1) does.
cat >"$R/usr/bin/logger" <<'EOF'
#!/bin/sh
case " $* " in
*" -- "*) echo "$*" ;;
*) while IFS= read -r l; do echo "$* -- $l"; done ;;
esac >>/tmp/logger.log
EOF
chmod 0755 "$R/usr/bin/logger"

# run_hook [VAR=VALUE...] HOOK ARGS...: the hook chrooted into $R with a clean environment,
# stdin from a regular file (not /dev/null: the hook must replace it), stdout to $OUT,
# stderr to $ERR, status in $STATUS.
run_hook() {
        set +e
        echo "some input" >"$W/stdin"
        chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DUAL_ROOT_EFIVARS=/efivars \
                "$@" <"$W/stdin" >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
}

# run_hook_closed in|out|err|all [VAR=VALUE...] HOOK ARGS...: run_hook with the hook's
# standard input, output, error or all three closed, as cron or a front end may start it.
run_hook_closed() {
        local which=$1
        shift
        set +e
        echo "some input" >"$W/stdin"
        : >"$OUT"
        : >"$ERR"
        case "$which" in
        in) chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@" <&- >"$OUT" 2>"$ERR" ;;
        out) chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@" <"$W/stdin" >&- 2>"$ERR" ;;
        err) chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@" <"$W/stdin" >"$OUT" 2>&- ;;
        all) chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@" <&- >&- 2>&- ;;
        esac
        STATUS=$?
        set -e
}

# expect_tool_runs N: the fake tool synced N times (`dual-root-tool -s -q`), each followed by
# `--assert-boot-entries -q` unless the sync said the config is invalid; every run with
# stdin from /dev/null and stdout on the hook's stderr; the hook's stdout stayed empty.
expect_tool_runs() {
        n=0
        [ -f "$FAKELOG" ] && n=$(grep -c '^args=-s -q$' "$FAKELOG")
        [ "$n" = "$1" ] || fail "dual-root-tool -s -q ran $n times, expected $1"
        [ "$1" = 0 ] && return 0
        # each sync is followed by the entries check (DESIGN.md §13 P4), but a config error's
        want=$(awk '/^args=-s -q$/ { s = 1; next } /^args=/ { s = 0 } s && /^rc=/ && $0 != "rc=2" { n++ }
                END { print n + 0 }' "$FAKELOG")
        got=$(grep -c '^args=--assert-boot-entries -q$' "$FAKELOG" || :)
        [ "$got" = "$want" ] || fail "the entries were checked $got times, expected $want (once per sync without a config error)"
        [ -z "$(grep '^args=' "$FAKELOG" | grep -v '^args=-s -q$' | grep -v '^args=--assert-boot-entries -q$')" ] ||
                fail "dual-root-tool arguments: $(grep '^args=' "$FAKELOG" | sort -u | tr '\n' ' '), expected '-s -q' and '--assert-boot-entries -q'"
        [ "$(grep '^stdin=' "$FAKELOG" | sort -u)" = "stdin=/dev/null" ] ||
                fail "dual-root-tool's stdin: $(grep '^stdin=' "$FAKELOG" | sort -u), expected /dev/null"
        grep -q '^fake tool stdout$' "$ERR" || fail "the tool's stdout did not reach the hook's stderr"
        [ ! -s "$OUT" ] || fail "the hook wrote to stdout"
}

reset_hooks() {
        reset_machine
        rm -f "$R/tmp/logger.log" "$R/usr/bin/bootctl" "$R/etc/kernel/postinst.d/zz-systemd-boot" \
                "$R/etc/initramfs/post-update.d/systemd-boot" "$R/etc/kernel/install.d/99-dual-root.install"
        rm -rf "$R/boot/drtest"
}

# --- each hook against the fake tool ---------------------------------------------------

every_hook_runs_the_tool_with_stdin_null_and_stdout_on_stderr() {
        reset_hooks
        fake_tool 0
        run_hook "$PLUGIN" add 6.1.0-t /boot/drtest/6.1.0-t /boot/vmlinuz-6.1.0-t
        expect_status 0
        expect_tool_runs 1
        fake_tool 0
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t /boot/vmlinuz-6.1.0-t
        expect_status 0
        expect_tool_runs 1
        expect_stderr_has "dual-root: syncing the ESPs (kernel 6.1.0-t postinst)"
        fake_tool 0
        run_hook DEB_MAINT_PARAMS=remove "$POSTRM" 6.1.0-t /boot/vmlinuz-6.1.0-t
        expect_status 0
        expect_tool_runs 1
        fake_tool 0
        run_hook "$INITRAMFS" 6.1.0-t /boot/initrd.img-6.1.0-t
        expect_status 0
        expect_tool_runs 1
        expect_stderr_has "dual-root: syncing the ESPs (initramfs 6.1.0-t)"
        # The pacman hook: alpm runs its Exec= line as given, no shell.
        fake_tool 0
        exec_line=$(sed -n 's/^Exec = //p' "$R$PACMAN_HOOK")
        # shellcheck disable=SC2086 # split as alpm splits it
        run_hook $exec_line
        expect_status 0
        expect_tool_runs 1
        grep -q '^When = PostTransaction$' "$R$PACMAN_HOOK" || fail "pacman hook is not PostTransaction"
        for t in 'usr/lib/modules/\*/vmlinuz' 'usr/lib/initcpio/\*' 'boot/\*' 'usr/lib/systemd/boot/efi/\*'; do
                grep -q "^Target = $t\$" "$R$PACMAN_HOOK" || fail "pacman hook lacks Target = $t"
        done
}

every_hook_exits_0_when_the_sync_fails() {
        for rc in 1 3 77 127; do
                reset_hooks
                fake_tool "$rc" "fake: cannot sync /efi0/ -> /efi1/"
                for h in "$PLUGIN add 6.1.0-t /boot/drtest/6.1.0-t /boot/vmlinuz-6.1.0-t" \
                        "$POSTINST 6.1.0-t" "$POSTRM 6.1.0-t" "$INITRAMFS 6.1.0-t /boot/initrd.img-6.1.0-t"; do
                        # shellcheck disable=SC2086
                        run_hook $h
                        expect_status 0
                        expect_stderr_has "fake: cannot sync /efi0/ -> /efi1/"
                        expect_stderr_has "dual-root: warning: the sync after"
                        expect_stderr_has "failed (dual-root-tool exit $rc"
                        expect_stdout_lacks "fake tool stdout"
                done
                grep -q "user.warning -- sync after kernel-install add 6.1.0-t failed (dual-root-tool exit $rc)" \
                        "$R/tmp/logger.log" || fail "no warning for the journal (logger)"
        done
}

config_error_is_loud_but_exits_0() {
        reset_hooks
        fake_tool 2 "error: /etc/dual-root/sync-daemon.conf:3:1: unknown key 'sync_dealy'"
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t
        expect_status 0
        expect_stderr_has "unknown key 'sync_dealy'"
        expect_stderr_has "dual-root: ERROR: the dual-root configuration is invalid"
        expect_stderr_has "NOTHING was synced"
        grep -q "user.err -- configuration error: kernel 6.1.0-t postinst was NOT synced" "$R/tmp/logger.log" ||
                fail "no error-priority journal record"
        run_hook "$PLUGIN" add 6.1.0-t /boot/drtest/6.1.0-t /boot/vmlinuz-6.1.0-t
        [ "$STATUS" != 77 ] || fail "the kernel-install plugin exited 77 (stops later plugins)"
        expect_status 0
        expect_stderr_has "dual-root: ERROR"
}

degraded_machine_warns_and_exits_0() {
        reset_hooks
        fake_tool 0 "warning: skipped /efi0/ -> /efi1/: '/efi1' is not a mount point (alternate ESP missing?)"
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t
        expect_status 0
        expect_tool_runs 1
        expect_stderr_has "'/efi1' is not a mount point"
        [ ! -e "$R/tmp/logger.log" ] || fail "a degraded machine's sync was logged as a failure"
}

hooks_do_nothing_when_the_tool_is_gone() {
        reset_hooks
        rm -f "$R/usr/bin/dual-root-tool" "$FAKELOG"
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t
        expect_status 0
        expect_stderr_empty
        run_hook "$INITRAMFS" 6.1.0-t /boot/initrd.img-6.1.0-t
        expect_status 0
        expect_stderr_empty
}

# H8: every hook, every outcome of the tool, each standard descriptor closed: exit 0, and what
# happened said on stderr, or in the journal where stderr is closed.
every_hook_exits_0_with_closed_descriptors() {
        local h rc fds said n
        for rc in 0 1 2 3 crash missing; do
                for fds in in out err all; do
                        for h in "$PLUGIN add 6.1.0-t /boot/drtest/6.1.0-t /boot/vmlinuz-6.1.0-t" \
                                "DEB_MAINT_PARAMS=configure $POSTINST 6.1.0-t" \
                                "DEB_MAINT_PARAMS=remove $POSTRM 6.1.0-t" \
                                "$INITRAMFS 6.1.0-t /boot/initrd.img-6.1.0-t" "/$HOOKDIR/hook-sync -q pacman"; do
                                reset_hooks
                                if [ "$rc" = missing ]; then
                                        rm -f "$R/usr/bin/dual-root-tool" "$FAKELOG"
                                else
                                        fake_tool "$rc" "fake: cannot sync /efi0/ -> /efi1/"
                                fi
                                # shellcheck disable=SC2086
                                run_hook_closed "$fds" $h
                                CURRENT_CASE="${h%% *} (tool: $rc, std$fds closed)"
                                expect_status 0
                                [ ! -s "$OUT" ] || fail "the hook wrote to stdout"
                                if [ "$rc" = missing ]; then
                                        [ ! -s "$ERR" ] || fail "a left-behind hook said something"
                                        continue
                                fi
                                n=$(grep -c '^args=-s -q$' "$FAKELOG" 2>/dev/null || true)
                                [ "$n" = 1 ] || fail "dual-root-tool ran ${n:-0} times, expected once"
                                said="$ERR"
                                case "$fds" in err | all) said="$R/tmp/logger.log" ;; esac
                                [ "$rc" = 0 ] && continue
                                grep -qF "fake: cannot sync /efi0/ -> /efi1/" "$said" 2>/dev/null ||
                                        fail "the tool's message is not in $said"
                                case "$rc" in
                                2) grep -qF "dual-root: ERROR: the dual-root configuration is invalid" "$said" ||
                                        fail "no ERROR block in $said" ;;
                                crash) grep -qF "failed (dual-root-tool was killed by signal 11" "$said" ||
                                        fail "no crash warning in $said" ;;
                                *) grep -qF "failed (dual-root-tool exit $rc" "$said" ||
                                        fail "no warning in $said" ;;
                                esac
                        done
                done
        done
}

debian_hooks_follow_deb_maint_params() {
        reset_hooks
        for p in "configure" "'configure' '6.1.0-t'" "configure 6.1.0-s" ""; do
                fake_tool 0
                run_hook "DEB_MAINT_PARAMS=$p" "$POSTINST" 6.1.0-t
                expect_status 0
                expect_tool_runs 1
        done
        for p in "abort-upgrade 6.1.0-t" "abort-remove" "triggered x"; do
                fake_tool 0
                run_hook "DEB_MAINT_PARAMS=$p" "$POSTINST" 6.1.0-t
                expect_status 0
                expect_tool_runs 0
        done
        for p in "remove" "'remove'" ""; do
                fake_tool 0
                run_hook "DEB_MAINT_PARAMS=$p" "$POSTRM" 6.1.0-t
                expect_tool_runs 1
        done
        for p in "upgrade 6.1.0-s" "purge" "abort-install" "disappear"; do
                fake_tool 0
                run_hook "DEB_MAINT_PARAMS=$p" "$POSTRM" 6.1.0-t
                expect_status 0
                expect_tool_runs 0
        done
}

initramfs_hook_skips_under_a_kernel_hook() {
        reset_hooks
        fake_tool 0
        run_hook INITRAMFS_TOOLS_KERNEL_HOOK=1 "$INITRAMFS" 6.1.0-t /boot/initrd.img-6.1.0-t
        expect_status 0
        expect_tool_runs 0
        expect_stderr_empty
}

# systemd-boot's Debian hooks sort after ours and call kernel-install, whose plugin syncs:
# ours then skip, unless that will not happen (no systemd-boot, our plugin masked).
one_sync_when_systemd_boot_calls_kernel_install() {
        reset_hooks
        mkdir -p "$R/etc/kernel/install.d"
        printf '#!/bin/sh\nexit 0\n' >"$R/etc/kernel/postinst.d/zz-systemd-boot"
        printf '#!/bin/sh\nexit 0\n' >"$R/etc/initramfs/post-update.d/systemd-boot"
        chmod 0755 "$R/etc/kernel/postinst.d/zz-systemd-boot" "$R/etc/initramfs/post-update.d/systemd-boot"
        fake_bootctl 0
        fake_tool 0
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t
        run_hook "$INITRAMFS" 6.1.0-t /boot/initrd.img-6.1.0-t
        expect_status 0
        expect_tool_runs 0
        # ... and the plugin, which kernel-install then runs, syncs: one sync in all.
        run_hook "$PLUGIN" add 6.1.0-t /boot/drtest/6.1.0-t /boot/vmlinuz-6.1.0-t
        expect_tool_runs 1
        # systemd-boot not installed on the ESP: its hook calls no kernel-install.
        fake_bootctl 1
        fake_tool 0
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t
        expect_tool_runs 1
        # our plugin masked: kernel-install will not sync.
        fake_bootctl 0
        ln -sf /dev/null "$R/etc/kernel/install.d/99-dual-root.install"
        fake_tool 0
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t
        expect_tool_runs 1
        # systemd-boot's hook not executable (disabled by hand).
        rm "$R/etc/kernel/install.d/99-dual-root.install"
        chmod 0644 "$R/etc/kernel/postinst.d/zz-systemd-boot"
        fake_tool 0
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t
        expect_tool_runs 1
}

plugin_removes_the_entry_dir_before_the_sync() {
        reset_hooks
        mkdir -p "$R/boot/drtest/6.1.0-t"
        echo kernel >"$R/boot/drtest/6.1.0-t/linux"
        fake_tool 0
        run_hook KERNEL_INSTALL_LAYOUT=bls KERNEL_INSTALL_BOOT_ROOT=/boot KERNEL_INSTALL_ENTRY_TOKEN=drtest \
                "$PLUGIN" remove 6.1.0-t /boot/drtest/6.1.0-t
        expect_status 0
        expect_tool_runs 1
        grep -q '^entry_dir=gone$' "$FAKELOG" || fail "the entry directory still existed when the tool ran"
        # Not the directory kernel-install would delete: left alone, still synced.
        mkdir -p "$R/boot/drtest/6.1.0-t"
        for env in "KERNEL_INSTALL_LAYOUT=other KERNEL_INSTALL_BOOT_ROOT=/boot KERNEL_INSTALL_ENTRY_TOKEN=drtest" \
                "KERNEL_INSTALL_LAYOUT=bls KERNEL_INSTALL_BOOT_ROOT=/efi0 KERNEL_INSTALL_ENTRY_TOKEN=drtest" \
                "KERNEL_INSTALL_LAYOUT=bls KERNEL_INSTALL_BOOT_ROOT=/boot"; do
                fake_tool 0
                # shellcheck disable=SC2086
                run_hook $env "$PLUGIN" remove 6.1.0-t /boot/drtest/6.1.0-t
                expect_status 0
                expect_tool_runs 1
                [ -d "$R/boot/drtest/6.1.0-t" ] || fail "removed an entry directory with $env"
        done
        fake_tool 0
        run_hook KERNEL_INSTALL_LAYOUT=bls KERNEL_INSTALL_BOOT_ROOT=/boot KERNEL_INSTALL_ENTRY_TOKEN=drtest \
                "$PLUGIN" remove .. /boot/drtest/..
        [ -d "$R/boot/drtest" ] || fail "removed /boot/drtest for KVER '..'"
        # Other commands (inspect, future ones): nothing, exit 0.
        fake_tool 0
        run_hook "$PLUGIN" inspect 6.1.0-t
        expect_status 0
        expect_tool_runs 0
}

plugin_is_silent_unless_kernel_install_is_verbose() {
        reset_hooks
        fake_tool 0 ""
        run_hook "$PLUGIN" add 6.1.0-t /boot/drtest/6.1.0-t /boot/vmlinuz-6.1.0-t
        expect_stderr_lacks() { ! grep -qF -- "$1" "$ERR" || fail "stderr unexpectedly has: $1"; }
        expect_stderr_lacks "syncing the ESPs"
        fake_tool 0 ""
        run_hook KERNEL_INSTALL_VERBOSE=1 "$PLUGIN" add 6.1.0-t /boot/drtest/6.1.0-t /boot/vmlinuz-6.1.0-t
        expect_stderr_has "dual-root: syncing the ESPs (kernel-install add 6.1.0-t)"
}

# --- against the real tool on the two-ESP machine ----------------------------------------

# setup_real: booted from disk 0, /efi0 bound on /boot as bind-mount-efi.service does, both
# ESPs alike (a loader, an entry), synced once so the guard has its record.
setup_real() {
        reset_hooks
        real_tool
        for d in "$R/efi0" "$R/efi1"; do
                find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +
        done
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries"
        echo loader >"$R/efi0/EFI/systemd/systemd-bootx64.efi"
        echo "title old" >"$R/efi0/loader/entries/old.conf"
        booted_by_loader "$PU0"
        run_tool -b
        expect_status 0
        run_tool -s -q
        expect_status 0
        [ -f "$R/efi1/loader/entries/old.conf" ] || fail "the first sync did not reach /efi1"
}

debian_hook_syncs_a_new_kernel_to_the_alternate() {
        setup_real
        head -c 300000 /dev/urandom >"$R/boot/vmlinuz-6.1.0-t"
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t /boot/vmlinuz-6.1.0-t
        expect_status 0
        cmp -s "$R/efi0/vmlinuz-6.1.0-t" "$R/efi1/vmlinuz-6.1.0-t" || fail "the new kernel is not on /efi1"
        rm "$R/boot/vmlinuz-6.1.0-t"
        run_hook DEB_MAINT_PARAMS=remove "$POSTRM" 6.1.0-t /boot/vmlinuz-6.1.0-t
        expect_status 0
        [ ! -e "$R/efi1/vmlinuz-6.1.0-t" ] || fail "the removed kernel is still on /efi1"
}

real_degraded_machine_warns_and_exits_0() {
        setup_real
        umount "$R/efi1"
        echo new >"$R/boot/vmlinuz-6.1.0-t"
        run_hook "$INITRAMFS" 6.1.0-t /boot/initrd.img-6.1.0-t
        expect_status 0
        expect_stderr_has "'/efi1' is not a mount point (alternate ESP missing?)"
        [ ! -e "$R/efi1/vmlinuz-6.1.0-t" ] || fail "wrote into the unmounted /efi1"
        [ ! -e "$R/tmp/logger.log" ] || fail "a degraded machine's sync was logged as a failure"
}

real_config_error_syncs_nothing_and_is_loud() {
        setup_real
        printf 'sync_dealy = 3\n' >"$CONF"
        echo new >"$R/boot/vmlinuz-6.1.0-t"
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t
        expect_status 0
        expect_stderr_has "sync_dealy"
        expect_stderr_has "dual-root: ERROR: the dual-root configuration is invalid"
        [ ! -e "$R/efi1/vmlinuz-6.1.0-t" ] || fail "synced despite a config error"
        grep -q "user.err" "$R/tmp/logger.log" || fail "no error-priority journal record"
}

real_failed_sync_warns_and_exits_0() {
        setup_real
        # The rollback guard: the alternate changed since its last sync.
        echo "changed behind our back" >"$R/efi1/loader/entries/other.conf"
        echo new >"$R/boot/vmlinuz-6.1.0-t"
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t
        expect_status 0
        expect_stderr_has "--force"
        expect_stderr_has "dual-root: warning: the sync after kernel 6.1.0-t postinst failed (dual-root-tool exit 1"
        [ ! -e "$R/efi1/vmlinuz-6.1.0-t" ] || fail "the guard let the sync overwrite /efi1"
}

# kernel-install (the host's systemd, its own plugins) with ours: `add` returns with the
# kernel, initrd and entry on both ESPs; `remove` returns with them gone from both.
kernel_install_add_and_remove_reach_both_esps() {
        setup_real
        mkdir -p "$R/etc/kernel"
        echo drtest >"$R/etc/kernel/entry-token"
        echo layout=bls >"$R/etc/kernel/install.conf"
        echo 0123456789abcdef0123456789abcdef >"$R/etc/machine-id"
        head -c 400000 /dev/urandom >"$R/tmp/vmlinuz"
        head -c 200000 /dev/urandom >"$R/tmp/initrd"
        run_hook kernel-install add 6.1.0-t /tmp/vmlinuz /tmp/initrd
        expect_status 0
        for e in efi0 efi1; do
                cmp -s "$R/tmp/vmlinuz" "$R/$e/drtest/6.1.0-t/linux" || fail "/$e lacks the kernel"
                cmp -s "$R/tmp/initrd" "$R/$e/drtest/6.1.0-t/initrd" || fail "/$e lacks the initrd"
                grep -q '^linux */drtest/6.1.0-t/linux$' "$R/$e/loader/entries/drtest-6.1.0-t.conf" ||
                        fail "/$e lacks the loader entry"
        done
        run_hook kernel-install remove 6.1.0-t
        expect_status 0
        for e in efi0 efi1; do
                [ ! -e "$R/$e/drtest/6.1.0-t" ] || fail "/$e still has the entry directory"
                [ ! -e "$R/$e/loader/entries/drtest-6.1.0-t.conf" ] || fail "/$e still has the entry"
                [ -f "$R/$e/loader/entries/old.conf" ] || fail "/$e lost the other entry"
        done
}

# DESIGN.md §8 H4 with the daemon running: the hook's -s copies the update; the daemon, woken
# by the same writes on the booted ESP, finds the alternate already equal to the source and
# ends its job without rsync. Control: a change no hook synced makes the daemon run rsync.
DAEMON_PID=
daemon_and_hook_sync_once() {
        setup_real
        mkdir -p "$R/usr/local/bin"
        cat >"$R/usr/local/bin/logging-rsync" <<'EOS'
#!/bin/sh
echo "rsync by: $(tr '\0' ' ' </proc/$PPID/cmdline)" >>/tmp/rsync.log
exec /usr/bin/rsync "$@"
EOS
        chmod 0755 "$R/usr/local/bin/logging-rsync"
        printf 'rsync_path = "/usr/local/bin/logging-rsync"\nsettle_time = 1\nsync_delay = 0\nmax_wait = 30\n' >"$CONF"
        : >"$R/tmp/rsync.log"
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars /usr/bin/dual-root-tool -d >"$W/daemon.log" 2>&1 &
        DAEMON_PID=$!
        case_cleanup() { [ -z "$DAEMON_PID" ] || { kill "$DAEMON_PID"; wait "$DAEMON_PID"; } 2>/dev/null || :; }
        wait_log 10 "initial sync done" || fail "the daemon did not finish its first sync: $(cat "$W/daemon.log")"
        n0=$(wc -l <"$W/daemon.log")
        : >"$R/tmp/rsync.log"

        head -c 300000 /dev/urandom >"$R/boot/vmlinuz-6.1.0-t"
        run_hook DEB_MAINT_PARAMS=configure "$POSTINST" 6.1.0-t /boot/vmlinuz-6.1.0-t
        expect_status 0
        cmp -s "$R/efi0/vmlinuz-6.1.0-t" "$R/efi1/vmlinuz-6.1.0-t" || fail "the hook did not copy the kernel"
        grep -q '^rsync by: /usr/bin/dual-root-tool -s -q $' "$R/tmp/rsync.log" || fail "the hook's sync ran no rsync: $(cat "$R/tmp/rsync.log")"
        wait_log 15 "already in sync, nothing to copy" "$n0" ||
                fail "the daemon did not end its sync as already in sync: $(tail -n +"$((n0 + 1))" "$W/daemon.log")"
        ! grep -v '^rsync by: /usr/bin/dual-root-tool -s -q $' "$R/tmp/rsync.log" ||
                fail "the daemon ran rsync after the hook had synced"

        # Control: the same daemon copies a change itself, through the same logging rsync.
        n0=$(wc -l <"$W/daemon.log")
        echo "not synced by a hook" >"$R/boot/other-file"
        wait_for_file 15 "$R/efi1/other-file" || fail "the daemon did not sync a change: $(tail -n +"$((n0 + 1))" "$W/daemon.log")"
        grep -q '^rsync by: /usr/bin/dual-root-tool -d $' "$R/tmp/rsync.log" ||
                fail "the daemon's own rsync runs are not seen: $(cat "$R/tmp/rsync.log")"
}

# wait_log SECONDS TEXT [SKIP]: the daemon's log, after its first SKIP lines, has TEXT.
wait_log() {
        local i=0
        while ! tail -n +"$((${3:-0} + 1))" "$W/daemon.log" | grep -qF -- "$2"; do
                [ "$i" -lt "$(($1 * 20))" ] || return 1
                sleep 0.05
                i=$((i + 1))
        done
}

# wait_for_file SECONDS PATH
wait_for_file() {
        local i=0
        until [ -e "$2" ]; do
                [ "$i" -lt "$(($1 * 20))" ] || return 1
                sleep 0.05
                i=$((i + 1))
        done
}

run_case "every hook runs 'dual-root-tool -s -q', stdin /dev/null, its stdout on stderr" every_hook_runs_the_tool_with_stdin_null_and_stdout_on_stderr
run_case "a failed sync: every hook warns (stderr, journal) and exits 0" every_hook_exits_0_when_the_sync_fails
run_case "a config error: a framed ERROR and an err journal record, exit 0, never 77" config_error_is_loud_but_exits_0
run_case "a degraded machine: the tool's warning passes, exit 0, no failure logged" degraded_machine_warns_and_exits_0
run_case "package removed, hooks left behind: nothing, exit 0" hooks_do_nothing_when_the_tool_is_gone
run_case "H8: stdin/stdout/stderr closed, every tool status (crash, missing too): exit 0, told" every_hook_exits_0_with_closed_descriptors
run_case "Debian hooks sync for configure/remove (or none), not for upgrade/abort-*" debian_hooks_follow_deb_maint_params
run_case "initramfs hook skips under a kernel hook (INITRAMFS_TOOLS_KERNEL_HOOK)" initramfs_hook_skips_under_a_kernel_hook
run_case "one sync: Debian hooks leave it to kernel-install when systemd-boot calls it" one_sync_when_systemd_boot_calls_kernel_install
run_case "plugin remove: kernel-install's entry directory is gone before the sync" plugin_removes_the_entry_dir_before_the_sync
run_case "plugin is silent unless KERNEL_INSTALL_VERBOSE" plugin_is_silent_unless_kernel_install_is_verbose
run_case "real tool: postinst/postrm hooks add and remove a kernel on the alternate" debian_hook_syncs_a_new_kernel_to_the_alternate
run_case "real tool: alternate missing: warning, exit 0, nothing written under /efi1" real_degraded_machine_warns_and_exits_0
run_case "real tool: config error: nothing synced, loud, exit 0" real_config_error_syncs_nothing_and_is_loud
run_case "real tool: rollback guard refuses: warning, exit 0" real_failed_sync_warns_and_exits_0
run_case "real kernel-install add/remove: kernel, initrd, entry on and off both ESPs" kernel_install_add_and_remove_reach_both_esps
run_case "daemon running: the hook copies, the daemon's sync after it runs no rsync" daemon_and_hook_sync_once
finish
