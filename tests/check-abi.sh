#!/bin/sh
# The library's ABI against the last release's (abi/libdpak-<version>.abi,
# made with `make abi-dump` when that release was cut), with libabigail's
# abidiff. Fails on an incompatible change or a removed function; a
# compatible change (an added function, a struct grown at its end) is
# reported and passes. Skipped (77) without abidiff (Debian: abigail-tools).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
command -v abidiff >/dev/null 2>&1 || { echo "SKIP: abidiff not installed (abigail-tools)"; exit 77; }
base=$(ls "$top_srcdir"/abi/libdpak-*.abi 2>/dev/null | sort -V | tail -n 1)
[ -n "$base" ] || { echo "SKIP: no released ABI to compare with"; exit 77; }
# The file libdpak.so points to (an older build may have left others).
lib=$(readlink -f "$top_builddir"/.libs/libdpak.so 2>/dev/null)
[ -n "$lib" ] && [ -f "$lib" ] || { echo "FAIL: no built libdpak.so"; exit 1; }

out=$(abidiff --headers-dir2 "$top_srcdir/include/dpak" --headers-dir2 "$top_builddir/include/dpak" \
	"$base" "$lib" 2>&1)
rc=$?
echo "$out"
if [ $((rc & 1)) -ne 0 ]; then
	echo "FAIL: abidiff itself failed ($rc)"; exit 1
fi
if [ $((rc & 8)) -ne 0 ] || echo "$out" | grep -Eq '^Functions changes summary: [1-9][0-9]* Removed'; then
	echo "FAIL: the ABI of $(basename "$base" .abi) is broken (see above)"; exit 1
fi
[ $((rc & 4)) -ne 0 ] && echo "note: compatible ABI changes since $(basename "$base" .abi)"
echo "ok: ABI compatible with $(basename "$base" .abi)"
