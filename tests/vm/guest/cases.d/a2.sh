# SPDX-License-Identifier: MIT
# Case 11, approach 2 with swap_ids (DESIGN.md §5b), guest half: one function per boot of
# tests/vm/cases.d/a2.sh. Sourced by guest/vmtest after guest/cases.

. "$PAYLOAD/guest/a2-layout"

# The approach-2 config: both ESPs as an ESP pair (so the rollback guard covers them), /etc
# as a sync item, fstab and the loader entries swapped. Written at every boot: the payload
# installs the suite's default config over it before systemd starts.
a2_conf() {
        # the daemon runs with the default config; this case syncs by hand
        systemctl stop dual-root-syncd.service 2>/dev/null
        cat >/etc/dual-root/sync-daemon.conf <<'EOF'
# approach 2 (VM case 11)
esp_mounts = ["/efi", "/mnt/root1/efi"]
swap_ids = ["/etc/fstab", "/efi/loader/entries/"]
sync = [["/etc/", "/mnt/root1/etc/"]]
EOF
        sed 's/^/  conf: /' /etc/dual-root/sync-daemon.conf | log
}

# a2_expect N: booted from disk N's ESP, running on disk N's own root
a2_expect() {
        local n=$1 ru pu
        eval "ru=\$A2_ROOT${n}_UUID pu=\$DRVM_ESP${n}_PARTUUID"
        check a2-loader "LoaderDevicePartUUID=$(loader_partuuid), want disk $n's ESP $pu" \
                [ "$(loader_partuuid)" = "$pu" ]
        check a2-cmdline-root "/proc/cmdline: $(cat /proc/cmdline)" grep -q "root=UUID=$ru " /proc/cmdline
        check a2-findmnt-root "findmnt /: $(findmnt -n -o SOURCE,UUID /), want UUID $ru" \
                [ "$(findmnt -n -o UUID /)" = "$ru" ]
        settle_mount /efi
        check a2-efi "/efi is $(findmnt -n -o SOURCE,PARTUUID /efi), want PARTUUID $pu" \
                [ "$(findmnt -n -o PARTUUID /efi)" = "$pu" ]
        findmnt -rn -o TARGET,SOURCE,UUID,PARTUUID | grep -E '^/(efi|mnt/root1)' | sed 's/^/  mount: /' | log
}

# fstab_source FILE TARGET: what FILE mounts on TARGET
fstab_source() { awk -v t="$2" '$1 !~ /^#/ && $2 == t { print $1 }' "$1"; }

run_case11_install() {
        local kver new e_new before after st
        a2_expect 0
        check a2-alternate-mounted "/mnt/root1 $(findmnt -n -o UUID /mnt/root1), /mnt/root1/efi $(findmnt -n -o PARTUUID /mnt/root1/efi)" \
                eval '[ "$(findmnt -n -o UUID /mnt/root1)" = "$A2_ROOT1_UUID" ] && [ "$(findmnt -n -o PARTUUID /mnt/root1/efi)" = "$DRVM_ESP1_PARTUUID" ]'
        a2_conf

        # A new kernel version, installed by hand as kernel-install would: kernel, initrd
        # and an entry of its own on the ESP, made the default.
        kver=$(uname -r)
        new=$kver-$A2_NEW_SUFFIX
        cp "/efi/vmlinuz-$kver" "/efi/vmlinuz-$new"
        cp "/efi/initrd.img-$kver" "/efi/initrd.img-$new"
        sed -e "s/^title .*/title   Debian $new (approach 2)/" -e "s/^version .*/version $new/" \
                -e "s|/vmlinuz-$kver|/vmlinuz-$new|" -e "s|/initrd.img-$kver|/initrd.img-$new|" \
                -e "/^options/ s/\$/ $A2_NEW_MARK/" /efi/loader/entries/debian.conf >"/efi/loader/entries/debian-$new.conf"
        sed -i "s/^default .*/default debian-$new.conf/" /efi/loader/loader.conf
        sync
        sed 's/^/  new entry: /' "/efi/loader/entries/debian-$new.conf" | log

        tool -t -s
        check a2-test-exit "-t -s: exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]
        check a2-test-map "-t shows the map's root pair" grep -qF "swap_ids map: UUID $A2_ROOT0_UUID <-> $A2_ROOT1_UUID" <<<"$TOOL_OUT"
        check a2-test-lines "-t shows the new entry's swapped line" \
                grep -qE "swap_ids:   [0-9]+: \+options root=UUID=$A2_ROOT1_UUID .*$A2_NEW_MARK" <<<"$TOOL_OUT"
        check a2-test-nothing "-t wrote nothing" [ ! -e "/mnt/root1/efi/loader/entries/debian-$new.conf" ]
        tool --check-config
        check a2-check-config "--check-config: exit $TOOL_RC, want 0, lists /etc/fstab's lines" \
                eval '[ "$TOOL_RC" = 0 ] && grep -qF "+UUID=$A2_ROOT1_UUID / ext4" <<<"$TOOL_OUT"'

        tool -s
        check a2-sync-exit "-s: exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]
        e_new=/mnt/root1/efi/loader/entries/debian-$new.conf
        sed 's/^/  copied entry: /' "$e_new" 2>&1 | log
        check a2-entry-swapped "disk 1's copy of the new entry boots disk 1's root" \
                eval 'grep -q "root=UUID=$A2_ROOT1_UUID .*$A2_NEW_MARK" "$e_new" && ! grep -q "$A2_ROOT0_UUID" "$e_new"'
        check a2-kernel-copied "the new kernel and initrd on disk 1" \
                eval 'cmp -s "/efi/vmlinuz-$new" "/mnt/root1/efi/vmlinuz-$new" && cmp -s "/efi/initrd.img-$new" "/mnt/root1/efi/initrd.img-$new"'
        check a2-default "disk 1's loader.conf: $(grep ^default /mnt/root1/efi/loader/loader.conf)" \
                grep -qx "default debian-$new.conf" /mnt/root1/efi/loader/loader.conf
        sed 's/^/  disk 1 fstab: /' /mnt/root1/etc/fstab | log
        check a2-fstab-swapped "disk 1's fstab: / $(fstab_source /mnt/root1/etc/fstab /), /efi $(fstab_source /mnt/root1/etc/fstab /efi), /mnt/root1 $(fstab_source /mnt/root1/etc/fstab /mnt/root1)" \
                eval '[ "$(fstab_source /mnt/root1/etc/fstab /)" = "UUID=$A2_ROOT1_UUID" ] &&
                      [ "$(fstab_source /mnt/root1/etc/fstab /efi)" = "PARTUUID=$DRVM_ESP1_PARTUUID" ] &&
                      [ "$(fstab_source /mnt/root1/etc/fstab /mnt/root1)" = "UUID=$A2_ROOT0_UUID" ] &&
                      [ "$(fstab_source /mnt/root1/etc/fstab /mnt/root1/efi)" = "PARTUUID=$DRVM_ESP0_PARTUUID" ]'

        # Nothing changed: nothing rewritten, and the guard is content.
        before=$(stat -c '%i %z' "$e_new" /mnt/root1/etc/fstab | paste -sd' ')
        tool -s
        after=$(stat -c '%i %z' "$e_new" /mnt/root1/etc/fstab | paste -sd' ')
        check a2-sync-again "second -s: exit $TOOL_RC, swapped copies untouched ('$before' / '$after')" \
                eval '[ "$TOOL_RC" = 0 ] && [ "$before" = "$after" ]'

        # --status: both jobs' copies name disk 1's own filesystems, none its other's root
        tool --status
        st=ok
        grep -qF "2 swapped files on /mnt/root1/efi/ name the alternate's own filesystems" <<<"$TOOL_OUT" || st=no
        grep -qF "1 swapped file on /mnt/root1/etc/ names the alternate's own filesystems" <<<"$TOOL_OUT" || st=no
        grep -q "CRITICAL swap_ids" <<<"$TOOL_OUT" && st=no
        check a2-status "--status: the swapped copies on both destinations are disk 1's own" [ "$st" = ok ]
}

run_case11_alone() {
        local ls
        a2_expect 1
        check a2-new-kernel "disk 1 booted the kernel installed on disk 0 ($A2_NEW_MARK)" \
                grep -qw "$A2_NEW_MARK" /proc/cmdline
        check a2-own-fstab "fstab mounts / from $(findmnt --fstab -n -o SOURCE /), /efi from $(findmnt --fstab -n -o SOURCE /efi)" \
                eval '[ "$(findmnt --fstab -n -o SOURCE /)" = "UUID=$A2_ROOT1_UUID" ] && [ "$(findmnt --fstab -n -o SOURCE /efi)" = "PARTUUID=$DRVM_ESP1_PARTUUID" ]'
        check a2-other-absent "/mnt/root1 not mounted (disk 0 is gone)" eval '! mountpoint -q /mnt/root1'
        a2_conf
        tool -s
        ls=$(ls -A /mnt/root1)
        check a2-alone-sync "-s with the alternate gone: exit $TOOL_RC, /mnt/root1 holds '${ls}'" \
                eval '[ "$TOOL_RC" = 0 ] && [ -z "$ls" ]'
        # An update made while disk 0 is away: disk 0 is stale from now on.
        echo "made on disk 1 alone $(date +%s)" >/efi/a2-update-on-disk1
        sync
}

run_case11_stale() {
        a2_expect 0
        check a2-stale-new-kernel "disk 0 boots the new kernel too" grep -qw "$A2_NEW_MARK" /proc/cmdline
        a2_conf
        tool -s
        check a2-guard-refuses "-s from stale disk 0: exit $TOOL_RC, want 1, naming --force" \
                eval '[ "$TOOL_RC" = 1 ] && grep -q -- "--force" <<<"$TOOL_ERR"'
        check a2-update-kept "disk 1's update survives" [ -f /mnt/root1/efi/a2-update-on-disk1 ]
        check a2-entries-kept "disk 1's entries still name disk 1's root" \
                eval '! grep -rq "$A2_ROOT0_UUID" /mnt/root1/efi/loader/entries/'
}
