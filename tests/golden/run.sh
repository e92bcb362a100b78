#!/usr/bin/env bash
# Run the golden cases in this folder (the format of ../shared/conformance)
# with an mbctl binary and compare its outputs with the ones real Click
# produced (expected/ in each case folder).
#
# usage: run.sh PATH_TO_MBCTL [CASE...]
#
# For every case listed in cases.txt (or only the CASEs named) it runs, from
# this directory,
#     mbctl run [--simtime] CASE/config.click ARGS... OUT=<empty dir>
# with standard output saved as <dir>/stdout.txt (and standard error as
# <dir>/stderr.txt where the case expects one), then compare.py checks
# <dir> against CASE/expected.  One line per case (PASS, or FAIL with the
# first difference), then a last line "conformance: N/M cases pass".
# Exit status 0 only if every case passes.
#
# Environment: CASE_TIMEOUT (seconds per case, default 300); KEEP=1 keeps
# the output directories even when everything passes.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)

if [ $# -lt 1 ]; then
    echo "usage: $0 PATH_TO_MBCTL [CASE...]" >&2
    exit 2
fi
case "$1" in
    */*) MBCTL="$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1")" ;;
    *)   MBCTL=$(command -v "$1" || true) ;;
esac
shift
if [ -z "$MBCTL" ] || [ ! -x "$MBCTL" ]; then
    echo "no mbctl: not an executable file" >&2
    exit 1
fi

run_cases() {   # run_cases ROOT MBCTL [CASE...]
    local root=$1 mbctl=$2; shift 2
    local work total=0 passed=0 to_cmd=()
    work=$(mktemp -d "${TMPDIR:-/tmp}/conformance.XXXXXX")
    if command -v timeout >/dev/null 2>&1; then
        to_cmd=(timeout -k 5 "${CASE_TIMEOUT:-300}")
    fi
    local name flags sorted rest want out rc msg
    while read -r name flags sorted rest; do
        case "$name" in ''|'#'*) continue ;; esac
        if [ $# -gt 0 ]; then
            want=0
            for c in "$@"; do [ "$c" = "$name" ] && want=1; done
            [ $want = 1 ] || continue
        fi
        total=$((total + 1))
        out="$work/$name"
        mkdir -p "$out"
        [ "$flags" = "-" ] && flags=""
        # shellcheck disable=SC2086  # flags and arguments are word lists
        (cd "$root" && ${to_cmd[@]+"${to_cmd[@]}"} "$mbctl" run $flags "$name/config.click" $rest "OUT=$out" \
            >"$out/stdout.txt" 2>"$work/$name.stderr" </dev/null)
        rc=$?
        # Where Click's standard error is the output under test (Print,
        # IPPrint), the case keeps it as expected/stderr.txt.
        if [ -f "$root/$name/expected/stderr.txt" ]; then
            cp "$work/$name.stderr" "$out/stderr.txt"
        fi
        if [ $rc -ne 0 ]; then
            msg="mbctl exited with status $rc"
            [ $rc -eq 124 ] && msg="timed out after ${CASE_TIMEOUT:-300}s"
            if [ -s "$work/$name.stderr" ]; then
                msg="$msg: $(tail -n 1 "$work/$name.stderr" | cut -c1-200)"
            fi
            echo "FAIL $name: $msg"
            continue
        fi
        if msg=$(python3 "$root/compare.py" "$root/$name/expected" "$out" --sorted "$sorted" 2>&1); then
            echo "PASS $name"
            passed=$((passed + 1))
        else
            echo "FAIL $name: $(printf '%s\n' "$msg" | head -n 1)"
        fi
    done < "$root/cases.txt"
    if [ $passed -ne $total ] || [ -n "${KEEP:-}" ]; then
        echo "(outputs kept in $work)"
    else
        rm -rf "$work"
    fi
    echo "conformance: $passed/$total cases pass"
    [ $total -gt 0 ] && [ $passed -eq $total ]
}

run_cases "$HERE" "$MBCTL" "$@"
