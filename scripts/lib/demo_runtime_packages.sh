#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/lib/demo_runtime_packages.sh BINARY...: the Debian packages that hold the shared libraries the
# given binaries load (ldd, then dpkg -S), one per line. docker/Dockerfile's build stage runs it on the
# demo binaries so that the runtime stage installs exactly what they link, never a hand-kept list.
set -euo pipefail

declare -A seen=()
for bin in "$@"; do
  while read -r lib; do
    [[ -n $lib ]] || continue
    pkg=""
    # Debian registers a file under the path its package ships it at: /lib/... or /usr/lib/... (usrmerge).
    for path in "$lib" "$(readlink -f "$lib")" "/usr${lib#/usr}" "${lib#/usr}"; do
      pkg=$(dpkg -S "$path" 2>/dev/null | grep -v "^diversion" | head -n 1 | cut -d: -f1 | cut -d, -f1) && [[ -n $pkg ]] && break
    done
    [[ -n $pkg ]] || { echo "demo_runtime_packages: no package holds $lib" >&2; exit 1; }
    seen[$pkg]=1
  done < <(ldd "$bin" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p')
done
printf '%s\n' "${!seen[@]}" | sort
