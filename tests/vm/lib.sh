# SPDX-License-Identifier: MIT
# Shared by tests/vm/build-image and tests/vm/run: paths, the cache keys, the
# payload disk and the one function that boots the guest. Sourced, not run.

DRVM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$DRVM_DIR/layout.sh"

DRVM_CACHE=${DUAL_ROOT_VM_CACHE:-/var/cache/dual-root-vm}
DRVM_OVMF_CODE=${DRVM_OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
DRVM_OVMF_VARS=${DRVM_OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
DRVM_SDBOOT=${DRVM_SDBOOT:-/usr/lib/systemd/boot/efi/systemd-bootx64.efi}
DRVM_BOOT_TIMEOUT=${DRVM_BOOT_TIMEOUT:-300}     # hard limit for one boot, seconds
DRVM_QEMU=${DRVM_QEMU:-qemu-system-x86_64}
DRVM_QEMU_SMP=${DRVM_QEMU_SMP:-2}
DRVM_QEMU_MEM=${DRVM_QEMU_MEM:-1024}
DRVM_QEMU_CPU=${DRVM_QEMU_CPU:-qemu64}         # "max" boots ~1.5x slower under TCG

drvm_log() { printf 'vm: %s\n' "$*" >&2; }
drvm_die() { printf 'vm: error: %s\n' "$*" >&2; exit 2; }

drvm_now() { printf '%s' "$EPOCHREALTIME"; }
# drvm_since START -> seconds since START with one decimal
drvm_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

drvm_require_tools() {
        local t
        for t in "$@"; do
                command -v "$t" >/dev/null 2>&1 || drvm_die "'$t' is not installed (see tests/vm/README.md)"
        done
}

drvm_pkg_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo unknown; }

# The cache: build-image writes $DRVM_CACHE/current.env naming the directories
# of the images in use (their names carry a hash of their recipe).
drvm_load_cache_env() {
        [ -f "$DRVM_CACHE/current.env" ] || drvm_die "no VM image yet: run tests/vm/build-image"
        . "$DRVM_CACHE/current.env"
        [ -f "$DRVM_ROOT_DIR/ok" ] && [ -f "$DRVM_ESP_DIR/ok" ] && [ -f "$DRVM_VARS_DIR/ok" ] ||
                drvm_die "VM image incomplete: run tests/vm/build-image"
}

# The Debian mirror, taken from this machine's own apt sources (deb822 .sources
# files first, then one-line sources.list entries): the first "deb" source that
# carries $DRVM_SUITE itself.
drvm_mirror() {
        local f uri=
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                uri=$(awk -v suite="$DRVM_SUITE" '
                        function flush() {
                                if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "" && enabled != "no") {
                                        split(uris, u, " "); print u[1]; found = 1; exit
                                }
                                types = uris = suites = ""; enabled = ""
                        }
                        /^[ \t]*#/ { next }
                        /^[ \t]*$/ { flush(); next }
                        { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
                          if (key == "types") types = $0
                          else if (key == "uris") uris = $0
                          else if (key == "suites") suites = $0
                          else if (key == "enabled") enabled = tolower($0) }
                        END { if (!found) flush() }' "$f")
                [ -n "$uri" ] && break
        done
        if [ -z "$uri" ]; then
                for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                        [ -f "$f" ] || continue
                        uri=$(awk -v suite="$DRVM_SUITE" '
                                $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                                              if ($(i + 1) == suite) { print $i; exit } }' "$f")
                        [ -n "$uri" ] && break
                done
        fi
        [ -n "$uri" ] || drvm_die "no apt source for '$DRVM_SUITE' found in /etc/apt/sources.list{,.d/}"
        printf '%s\n' "$uri"
}

# ---------------------------------------------------------------------------
# The tool under test

DUAL_ROOT_TOOL=${DUAL_ROOT_TOOL:-$(cd "$DRVM_DIR/../.." && pwd)/build/dual-root-tool}
DUAL_ROOT_UNITS=${DUAL_ROOT_UNITS:-$(cd "$DRVM_DIR/../.." && pwd)/units}

# drvm_tool_features BINARY: the features it announces in --help; cases that
# need a missing one skip.
drvm_tool_features() {
        local help f=
        help=$("$1" --help 2>&1) || true
        grep -q -- '--json' <<<"$help" && f="$f json"
        grep -q -- '--bind' <<<"$help" && f="$f bind"
        grep -qE -- '--sync([^d]|$)' <<<"$help" && f="$f sync"
        grep -q -- '--syncd' <<<"$help" && f="$f syncd"
        grep -q -- '--force' <<<"$help" && f="$f force"
        printf '%s\n' "${f# }"
}

# drvm_stage_tool DIR: lay out in DIR the files to be installed into the guest's
# root, as "make install DESTDIR=DIR" would: the binary, the units, their
# enablement links and a test config; print the binary's features. DIR is a
# snapshot taken once per run: a rebuild during the run does not mix binaries.
# DUAL_ROOT_DESTDIR, when set, names an installed tree to use instead.
drvm_stage_tool() {
        local dir=$1 features u name t unitdir
        unitdir="$dir/usr/lib/systemd/system"
        if [ -n "${DUAL_ROOT_DESTDIR:-}" ]; then
                cp -a "$DUAL_ROOT_DESTDIR/." "$dir/"
                # Debian 12 is merged-/usr: /lib is a symlink in the guest.
                if [ -d "$dir/lib" ] && [ ! -L "$dir/lib" ]; then
                        mkdir -p "$dir/usr/lib"
                        cp -a "$dir/lib/." "$dir/usr/lib/"
                        rm -rf "${dir:?}/lib"
                fi
        else
                install -D -m 0755 "$DUAL_ROOT_TOOL" "$dir/usr/bin/dual-root-tool"
                mkdir -p "$unitdir"
                for u in "$DUAL_ROOT_UNITS"/*.service "$DUAL_ROOT_UNITS"/*.service.in; do
                        [ -f "$u" ] || continue
                        name=$(basename "$u" .in)
                        sed -e 's|@bindir@|/usr/bin|g; s|@BINDIR@|/usr/bin|g' \
                            -e 's|@prefix@|/usr|g; s|@PREFIX@|/usr|g' \
                            -e 's|@sysconfdir@|/etc|g; s|@SYSCONFDIR@|/etc|g' \
                            "$u" >"$unitdir/$name"
                        if grep -q '@[A-Za-z_]*@' "$unitdir/$name"; then
                                drvm_log "warning: $u: unknown @placeholder@ left in the unit"
                        fi
                done
        fi
        [ -x "$dir/usr/bin/dual-root-tool" ] || drvm_die "no usr/bin/dual-root-tool in the staged tree"
        features=$(drvm_tool_features "$dir/usr/bin/dual-root-tool")
        # Enable what a user of approach 1 enables; the daemon only once it exists.
        for name in bind-mount-efi.service dual-root-syncd.service; do
                [ -f "$unitdir/$name" ] || continue
                [ "$name" = dual-root-syncd.service ] && [[ " $features " != *" syncd "* ]] && continue
                for t in $(sed -n 's/^[[:space:]]*\(WantedBy\|RequiredBy\)[[:space:]]*=//p' "$unitdir/$name"); do
                        mkdir -p "$dir/etc/systemd/system/$t.wants"
                        ln -sf "/usr/lib/systemd/system/$name" "$dir/etc/systemd/system/$t.wants/$name"
                done
        done
        # Short daemon delay so a daemon case completes in seconds, not minutes.
        if [[ " $features " == *" syncd "* ]] && [ ! -e "$dir/etc/dual-root/sync-daemon.conf" ]; then
                install -d "$dir/etc/dual-root"
                printf '# written by tests/vm for the VM test guest\nsync_delay = 3\n' \
                        >"$dir/etc/dual-root/sync-daemon.conf"
        fi
        printf '%s\n' "$features"
}

# drvm_make_payload IMAGE CASE [TOOLDIR FEATURES]: the small ext4 disk the
# guest's initramfs copies in at boot (see image/initramfs-drvm-payload), with
# TOOLDIR (from drvm_stage_tool) as the tree to install; none for the setup boots.
drvm_make_payload() {
        local img=$1 case=$2 tooldir=${3:-} features=${4:-} stage
        stage=$(mktemp -d "${img}.stage.XXXXXX")
        mkdir -p "$stage/guest"
        cp -r "$DRVM_DIR"/guest/. "$stage/guest/"
        cp "$DRVM_DIR/layout.sh" "$stage/layout.sh"
        chmod 0755 "$stage/guest/vmtest"
        {
                printf 'DRVM_CASE=%q\n' "$case"
                printf 'DRVM_FEATURES=%q\n' "$features"
                printf 'DRVM_HOST_TIME=%q\n' "$(date +%s)"
                printf 'DRVM_JOURNAL=%q\n' "${DRVM_JOURNAL:-}"
        } >"$stage/params"
        if [ -n "$tooldir" ]; then
                mkdir -p "$stage/root"
                cp -a "$tooldir/." "$stage/root/"
        fi
        rm -f "$img"
        mkfs.ext4 -q -F -L DRVMPAYLOAD -d "$stage" "$img" 64M >/dev/null
        rm -rf "$stage"
}

# drvm_overlay BASE OUT: a qcow2 overlay so the cached image is never written.
drvm_overlay() { qemu-img create -q -f qcow2 -F raw -b "$1" "$2"; }

# ---------------------------------------------------------------------------
# Booting

DRVM_QEMU_PID=

# drvm_boot PREFIX VARS ESP0 ESP1 ROOT PAYLOAD
# ESP0/ESP1 are qcow2 overlays or "-" for a disk that is not there (its PCI slot
# stays empty, as when a disk is pulled). Writes PREFIX.console (ttyS0: firmware,
# boot loader, kernel, systemd) and PREFIX.result (ttyS1: the case script's
# lines). Returns qemu's status (non-zero on timeout or a boot that went wrong,
# with DRVM_BOOT_FAILURE saying why); DRVM_BOOT_SECONDS is set, and
# DRVM_BOOT_BEGIN to the seconds it took until the case script started.
# A power cut: with DRVM_CUT_MARKER set, qemu is SIGKILLed as soon as the guest
# prints a line holding it on ttyS1 (polled each second); the boot then counts
# as good and DRVM_BOOT_CUT=1. DRVM_DISK_CACHE (default unsafe) is the disks'
# qemu cache mode: a cut boot wants "writeback", so what the guest flushed is in
# the image files when qemu dies and what it did not flush is lost.
drvm_boot() {
        local prefix=$1 vars=$2 esp0=$3 esp1=$4 root=$5 payload=$6 t0 rc=0
        local -a args=(
                -machine q35 -accel tcg -cpu "$DRVM_QEMU_CPU" -smp "$DRVM_QEMU_SMP" -m "$DRVM_QEMU_MEM"
                -nodefaults -no-user-config -display none -no-reboot -nic none
                -drive "if=pflash,format=raw,unit=0,readonly=on,file=$DRVM_OVMF_CODE"
                -drive "if=pflash,format=raw,unit=1,file=$vars"
                -chardev "file,id=con,path=$prefix.console" -serial chardev:con
                -chardev "file,id=res,path=$prefix.result" -serial chardev:res
        )
        # Fixed PCI slots: 4 and 5 for the ESP disks, 6 root, 7 payload. Nothing
        # carries a bootindex, so the firmware follows BootOrder in NVRAM.
        [ "$esp0" = - ] || args+=(-drive "if=none,id=esp0,format=qcow2,cache=${DRVM_DISK_CACHE:-unsafe},file=$esp0"
                                  -device "virtio-blk-pci,drive=esp0,addr=0x4,serial=drvm-esp0")
        [ "$esp1" = - ] || args+=(-drive "if=none,id=esp1,format=qcow2,cache=${DRVM_DISK_CACHE:-unsafe},file=$esp1"
                                  -device "virtio-blk-pci,drive=esp1,addr=0x5,serial=drvm-esp1")
        args+=(-drive "if=none,id=root,format=qcow2,cache=${DRVM_DISK_CACHE:-unsafe},file=$root"
               -device "virtio-blk-pci,drive=root,addr=0x6,serial=drvm-root"
               -drive "if=none,id=payload,format=raw,readonly=on,file=$payload"
               -device "virtio-blk-pci,drive=payload,addr=0x7,serial=drvm-payload")
        : >"$prefix.console"
        : >"$prefix.result"
        t0=$(drvm_now)
        DRVM_BOOT_FAILURE=
        timeout -k 10 "$DRVM_BOOT_TIMEOUT" "$DRVM_QEMU" "${args[@]}" </dev/null \
                >"$prefix.qemu" 2>&1 &
        DRVM_QEMU_PID=$!
        # Do not sit out the timeout when the console already says the boot
        # is lost (firmware fell through to its shell, panic, rescue shell).
        DRVM_BOOT_BEGIN=
        DRVM_BOOT_CUT=
        while kill -0 "$DRVM_QEMU_PID" 2>/dev/null; do
                if [ -n "${DRVM_CUT_MARKER:-}" ] && grep -qF -- "$DRVM_CUT_MARKER" "$prefix.result"; then
                        # qemu is the child of timeout(1): the power goes, nothing is flushed
                        # shellcheck disable=SC2046
                        kill -KILL $(cat /proc/"$DRVM_QEMU_PID"/task/*/children 2>/dev/null) 2>/dev/null || true
                        DRVM_BOOT_CUT=1
                        break
                fi
                # when the case script started: splits boot time from test time
                [ -z "$DRVM_BOOT_BEGIN" ] && grep -q '^DRVM BEGIN' "$prefix.result" &&
                        DRVM_BOOT_BEGIN=$(drvm_since "$t0")
                DRVM_BOOT_FAILURE=$(tr -d '\r' <"$prefix.console" | grep -a -m1 -o -E \
                        'Shell> |Kernel panic.*|\(initramfs\) |You are in emergency mode|Give root password for maintenance' || true)
                if [ -n "$DRVM_BOOT_FAILURE" ]; then
                        kill -TERM "$DRVM_QEMU_PID" 2>/dev/null || true
                        break
                fi
                sleep 1
        done
        wait "$DRVM_QEMU_PID" || rc=$?
        DRVM_QEMU_PID=
        DRVM_BOOT_SECONDS=$(drvm_since "$t0")
        if [ -n "$DRVM_BOOT_CUT" ]; then
                DRVM_BOOT_FAILURE=
                return 0
        fi
        case "$rc" in
        124 | 137) DRVM_BOOT_FAILURE="no power-off within ${DRVM_BOOT_TIMEOUT}s (hard timeout)" ;;
        esac
        [ -n "$DRVM_BOOT_FAILURE" ] && [ "$rc" = 0 ] && rc=125
        [ -n "$DRVM_BOOT_FAILURE" ] && [ "$DRVM_BOOT_FAILURE" = "Shell> " ] &&
                DRVM_BOOT_FAILURE="firmware found nothing to boot and started its shell"
        return "$rc"
}

# Called from the scripts' exit traps: stop the qemu this shell started.
drvm_kill_qemu() {
        if [ -n "${DRVM_QEMU_PID:-}" ]; then
                kill -TERM "$DRVM_QEMU_PID" 2>/dev/null || true
                wait "$DRVM_QEMU_PID" 2>/dev/null || true
                DRVM_QEMU_PID=
        fi
}

# The case script's lines from a result log: "DRVM ..." with CR stripped.
drvm_results() { tr -d '\r' <"$1" | grep '^DRVM ' || true; }
