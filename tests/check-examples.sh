#!/bin/sh
# Every code example in the manual pages (the first .nf/.fi block of a
# section 3 page's EXAMPLE) and the C example in README.md compiles with
# -Wall -Wextra -Werror against the built library and runs to a clean exit.
# A complete program (it has main) runs as it is, and where the page says
# what it prints ("... it prints" and a .nf block), its output must hold
# those lines. A fragment is compiled inside a function that gets an open
# device as `dev` (unless the fragment opens one itself); file-scope
# definitions at its start (a static function up to its closing brace) stay
# outside that function. CC and EXAMPLE_FLAGS (the build's CFLAGS and
# LDFLAGS, so sanitizer builds link) come from make. Skipped (77) without a
# C compiler.
set -u
top="${top_srcdir:-.}"
build="${top_builddir:-.}"
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || { echo "SKIP: no C compiler"; exit 77; }
lib="$build/.libs"
[ -f "$lib/libdpak.so" ] || { echo "FAIL: $lib/libdpak.so not built"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0 n=0

# Undo the groff escapes the pages use in code.
unroff() {
	sed -e 's/\\e/\\/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' \
	    -e 's/\\f[BIRP]//g' -e 's/\\&//g'
}

# example NAME SRC [EXPECTED]: build and run one example.
example() {
	name=$1 src=$2 expect=${3:-}
	n=$((n + 1))
	if grep -q '^int main' "$src"; then
		cp "$src" "$tmp/prog.c"
	else
		{
			printf '#include <err.h>\n#include <errno.h>\n#include <stdio.h>\n'
			printf '#include <stdlib.h>\n#include <string.h>\n#include <dpak/dpak.h>\n'
			# file-scope part: from a first line at column 0 that is not
			# a statement, up to the first "}" at column 0
			awk 'NR == 1 && /^static .*\(/ { top = 1 }
			     top { print } top && /^}/ { exit }' "$src"
			if grep -q 'struct dpak_dev \*dev = ' "$src"; then
				printf 'int main(void)\n{\n{\n'
			else
				printf 'static void example(struct dpak_dev *dev)\n{\n'
			fi
			awk 'NR == 1 && /^static .*\(/ { top = 1 }
			     !top { print } top && /^}/ { top = 0 }' "$src"
			if grep -q 'struct dpak_dev \*dev = ' "$src"; then
				printf '}\n\treturn 0;\n}\n'
			else
				printf '}\n\nint main(void)\n{\n'
				printf '\tstruct dpak_dev *dev = dpak_dev_open("hwsim:", NULL);\n'
				printf '\tif (!dev)\n\t\terrx(1, "open: %%s", dpak_errmsg());\n'
				printf '\texample(dev);\n\tdpak_dev_close(dev);\n\treturn 0;\n}\n'
			fi
		} > "$tmp/prog.c"
	fi
	# shellcheck disable=SC2086
	if ! "$cc" -std=gnu11 ${EXAMPLE_FLAGS:-} -Wall -Wextra -Werror -Wno-unused-variable \
	    -Wno-unused-parameter -Wno-unused-function \
	    -I"$top/include" -I"$build/include" -o "$tmp/prog" "$tmp/prog.c" \
	    -L"$lib" -ldpak 2> "$tmp/cc.out"; then
		echo "FAIL: $name: the example does not compile"
		cat -n "$tmp/prog.c"; cat "$tmp/cc.out"
		fails=$((fails + 1))
		return
	fi
	# (fragments may leave the device open, as a part of a program would)
	if ! ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" LD_LIBRARY_PATH="$lib" \
	    "$tmp/prog" > "$tmp/out" 2>&1; then
		echo "FAIL: $name: the example does not run to a clean exit"
		cat "$tmp/out"
		fails=$((fails + 1))
		return
	fi
	if [ -n "$expect" ]; then
		while IFS= read -r line; do
			grep -qxF -- "$line" "$tmp/out" && continue
			echo "FAIL: $name: the page says it prints \"$line\"; it printed:"
			cat "$tmp/out"
			fails=$((fails + 1))
			return
		done < "$expect"
	fi
	echo "ok: $name"
}

for page in "$top"/man/man3/*.3; do
	grep -q '^\.SH EXAMPLE' "$page" || continue
	name=${page##*/}
	# the first .nf block of EXAMPLE is the code; a .nf block after a line
	# ending in "prints" is its output
	awk -v code="$tmp/code.c" -v out="$tmp/expect" '
	/^\.SH/ { ex = ($0 ~ /^\.SH EXAMPLE/) ; next }
	!ex { next }
	/^\.nf/ { blk++; inblk = 1; next }
	/^\.fi/ { inblk = 0; want = 0; next }
	inblk && blk == 1 { print > code; next }
	inblk && want { print > out; next }
	/prints$/ { want = 1 }' "$page"
	[ -f "$tmp/code.c" ] || continue
	unroff < "$tmp/code.c" > "$tmp/ex.c"
	if [ -f "$tmp/expect" ]; then
		unroff < "$tmp/expect" > "$tmp/expect.txt"
		example "$name" "$tmp/ex.c" "$tmp/expect.txt"
	else
		example "$name" "$tmp/ex.c"
	fi
	rm -f "$tmp/code.c" "$tmp/expect" "$tmp/expect.txt"
done

# README.md: the ```c blocks.
awk -v dir="$tmp" '/^```c$/ { k++; f = dir "/readme" k ".c"; next }
	/^```$/ { f = ""; next } f { print > f }' "$top/README.md"
for f in "$tmp"/readme*.c; do
	[ -f "$f" ] || continue
	example "README.md (${f##*/})" "$f"
done

[ "$n" -gt 0 ] || { echo "FAIL: no examples found"; exit 1; }
[ "$fails" -eq 0 ] || { echo "FAIL: $fails of $n examples"; exit 1; }
echo "ok: $n examples compile and run"
