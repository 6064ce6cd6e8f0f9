#!/bin/bash
# SPDX-License-Identifier: MIT
# Bash completion (completion/dual-root-tool): loaded on demand by bash-completion under the
# command's name, it offers exactly the options --help lists, files after -c/--conf, and
# directories for EFI_MOUNT. Needs no root.
set -eu
: "${TOOL:?TOOL must name the dual-root-tool binary}"
src=$(cd "$(dirname "$0")/../.." && pwd)/completion/dual-root-tool
bc=/usr/share/bash-completion/bash_completion
if [ ! -f "$bc" ]; then
        echo "SKIP: bash-completion is not installed"
        exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/user/completions" "$tmp/dir/sub" "$tmp/dir/conf.d"
cp "$src" "$tmp/user/completions/dual-root-tool"
touch "$tmp/dir/sync-daemon.conf" "$tmp/dir/other.conf"

failed=0 n=0
ok() { n=$((n + 1)); printf 'ok - %s\n' "$1"; }
not_ok() { n=$((n + 1)); failed=1; printf 'not ok - %s: %s\n' "$1" "$2"; }

# in_bash SCRIPT: runs SCRIPT in a bash with bash-completion loaded the way an interactive
# shell has it, our file found only through the on-demand loader (BASH_COMPLETION_USER_DIR).
in_bash() {
        BASH_COMPLETION_USER_DIR="$tmp/user" bash --norc --noprofile -c "
                shopt -s extglob progcomp
                . $bc
                comp() { COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\$# - 1)); COMP_LINE=\"\$*\"
                         COMP_POINT=\${#COMP_LINE}; COMPREPLY=()
                         _completion_loader dual-root-tool >/dev/null 2>&1 || :
                         fn=\$(complete -p dual-root-tool | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
                         \"\$fn\" dual-root-tool \"\${COMP_WORDS[COMP_CWORD]}\" \"\${COMP_WORDS[COMP_CWORD-1]}\"
                         printf '%s\n' \"\${COMPREPLY[@]}\" | sort; }
                $1"
}

got=$(in_bash '_completion_loader dual-root-tool >/dev/null 2>&1; complete -p dual-root-tool' 2>&1) || true
if [ "$got" = "complete -F _dual_root_tool dual-root-tool" ]; then
        ok "loaded on demand by name: $got"
else
        not_ok "loaded on demand by name" "complete -p says '$got'"
fi

# Every option of --help (short and long), nothing else.
want=$("$TOOL" --help | grep -oE '(^|[ ,])--?[A-Za-z][-A-Za-z0-9]*' | tr -d ' ,' | sort -u)
have=$(in_bash 'comp dual-root-tool -')
if [ "$want" = "$have" ]; then
        ok "offers exactly the $(wc -l <<<"$want") options of --help"
else
        not_ok "offers exactly the options of --help" \
                "$(diff <(echo "$want") <(echo "$have") | sed -n 's/^</missing/p; s/^>/extra/p' | tr '\n' ' ')"
fi

have=$(in_bash 'comp dual-root-tool --sy')
if [ "$have" = $'--sync\n--syncd' ]; then
        ok "--sy completes to --sync, --syncd"
else
        not_ok "--sy completes to --sync, --syncd" "got: $(echo $have)"
fi

for opt in -c --conf; do
        have=$(cd "$tmp/dir" && in_bash "comp dual-root-tool -s $opt ''")
        if [ "$have" = $'conf.d\nother.conf\nsub\nsync-daemon.conf' ]; then
                ok "$opt FILE completes files"
        else
                not_ok "$opt FILE completes files" "got: $(echo $have)"
        fi
done
have=$(in_bash "comp dual-root-tool -c $tmp/dir/sy")
[ "$have" = "$tmp/dir/sync-daemon.conf" ] && ok "-c completes a path prefix" ||
        not_ok "-c completes a path prefix" "got: $(echo $have)"

have=$(in_bash "comp dual-root-tool -b $tmp/dir/")
if [ "$have" = "$(printf '%s\n' "$tmp/dir/conf.d" "$tmp/dir/sub")" ]; then
        ok "EFI_MOUNT completes directories only"
else
        not_ok "EFI_MOUNT completes directories only" "got: $(echo $have)"
fi

if [ "$failed" != 0 ]; then
        echo "FAILED ($n cases run)"
        exit 1
fi
echo "PASS ($n cases)"
