#!/bin/sh
# Runs `mbctl check` over the example configurations of a Click source
# tree (CLICK_SRC/conf/*.click) and prints, for each file that fails, its
# first errors, then how many pass. Click is never fetched here: point
# CLICK_SRC at a snapshot you have (see click-configs/CLICK-CONF.md).
# Usage: check-click-conf.sh CLICK_SRC [MBCTL]
set -u
src=${1:?usage: check-click-conf.sh CLICK_SRC [MBCTL]}
mbctl=${2:-target/debug/mbctl}
if [ ! -d "$src/conf" ]; then
    echo "check-click-conf: $src/conf: no such directory (CLICK_SRC must be a Click source tree)" >&2
    exit 2
fi
if [ ! -x "$mbctl" ]; then
    echo "check-click-conf: $mbctl: not built (cargo build -p mbctl)" >&2
    exit 2
fi
pass=0
total=0
for f in "$src"/conf/*.click; do
    total=$((total + 1))
    name=$(basename "$f")
    if out=$("$mbctl" check "$f" 2>&1); then
        pass=$((pass + 1))
        echo "pass  $name"
    else
        echo "FAIL  $name"
        # The file's errors, without its directory, at most three.
        printf '%s\n' "$out" | grep -v ': [0-9]* errors\?$' | head -n 3 \
            | sed "s|^$src/conf/||; s|^|        |"
    fi
done
echo "$pass of $total configurations in $src/conf pass mbctl check"
