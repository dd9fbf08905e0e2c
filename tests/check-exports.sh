#!/bin/sh
# The shared library exports exactly the symbols of lib/libdpak.map, all
# named dpak_*, and every function the public headers declare is exported.
set -eu
lib="${top_builddir:-.}/.libs/libdpak.so"
map="${top_srcdir:-.}/lib/libdpak.map"
hdrs="${top_srcdir:-.}/include/dpak"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' |
	grep -v '^DPAK_' | sort -u > "$tmp/exported"
sed -n 's/^[[:space:]]*\(dpak_[a-z0-9_]*\);$/\1/p' "$map" | sort -u > "$tmp/mapped"
grep -ho "^DPAK_API[^(]*(" "$hdrs"/*.h | sed 's/.*[ *]\(dpak_[a-z0-9_]*\)($/\1/' |
	sort -u > "$tmp/declared"

status=0
if grep -v '^dpak_' "$tmp/exported"; then
	echo "FAIL: symbols above are exported but not named dpak_*"; status=1
fi
if ! diff -u "$tmp/mapped" "$tmp/exported"; then
	echo "FAIL: exports differ from lib/libdpak.map"; status=1
fi
if ! diff -u "$tmp/declared" "$tmp/exported"; then
	echo "FAIL: exports differ from the DPAK_API declarations in include/dpak"; status=1
fi
[ $status -eq 0 ] && echo "ok: $(wc -l < "$tmp/exported") dpak_* symbols exported, all declared and mapped"
exit $status
