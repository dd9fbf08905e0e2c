#!/bin/sh
# Every function declared with DPAK_API in include/dpak/*.h has a Doxygen
# comment (a /** block that ends on the line just before its declaration)
# and a manual page man/man3/<function>.3: the page itself, or a .so link
# to a page that exists and names the function.
set -u
top="${top_srcdir:-.}"
hdrs="$top/include/dpak"
man3="$top/man/man3"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# One line per declaration: "function file:line doc", doc being 1 when a
# Doxygen comment ends on the line before the declaration, else 0. The
# declaration may span lines: its name is the identifier before the first
# "(". A comment counts when it opens with "/**" (not "/**<") at the start
# of a line, holds some text, and its "*/" ends the line.
for h in "$hdrs"/*.h; do
	[ -f "$h" ] || continue
	awk -v file="${h#"$top"/}" '
	function start_decl(line) {
		decl = line; decl_line = FNR
		decl_doc = (doc_end == FNR - 1) ? 1 : 0
		in_decl = 1
	}
	function end_decl(   s, name) {
		s = decl
		sub(/\(.*/, "", s)
		if (match(s, /[A-Za-z_][A-Za-z0-9_]*[ \t]*$/)) {
			name = substr(s, RSTART, RLENGTH)
			sub(/[ \t]+$/, "", name)
			print name, file ":" decl_line, decl_doc
		} else {
			print "?", file ":" decl_line, decl_doc
		}
		in_decl = 0
	}
	{
		line = $0
		if (in_decl) {
			decl = decl " " line
			if (decl ~ /\(/)
				end_decl()
			next
		}
		if (in_comment) {
			if (line ~ /\*\//) {
				body = line; sub(/\*\/.*/, "", body)
				if (body ~ /[A-Za-z0-9]/)
					text = 1
				in_comment = 0
				if (text && line ~ /\*\/[ \t]*$/)
					doc_end = FNR
			} else if (line ~ /[A-Za-z0-9]/) {
				text = 1
			}
			next
		}
		if (line ~ /^[ \t]*\/\*\*([^*\/<]|$)/) {
			body = line; sub(/^[ \t]*\/\*\*/, "", body)
			if (body ~ /\*\//) {
				rest = body; sub(/\*\/.*/, "", rest)
				if (rest ~ /[A-Za-z0-9]/ && body ~ /\*\/[ \t]*$/)
					doc_end = FNR
			} else {
				in_comment = 1
				text = (body ~ /[A-Za-z0-9]/) ? 1 : 0
			}
			next
		}
		if (line ~ /^[ \t]*DPAK_API([ \t]|$)/) {
			start_decl(line)
			if (decl ~ /\(/)
				end_decl()
		}
	}
	END { if (in_decl) end_decl() }
	' "$h" >> "$tmp/decls"
done

touch "$tmp/decls"
n=$(wc -l < "$tmp/decls" | tr -d ' ')
if [ "$n" -eq 0 ]; then
	echo "FAIL: no DPAK_API declarations found in $hdrs"
	exit 1
fi

status=0
while read -r fn where doc; do
	if [ "$fn" = "?" ]; then
		echo "FAIL: $where: cannot find the function name of a DPAK_API declaration"
		status=1
		continue
	fi
	if [ "$doc" != 1 ]; then
		echo "FAIL: $fn ($where): no Doxygen comment (/** ... */) just before its declaration"
		status=1
	fi
	page="$man3/$fn.3"
	if [ ! -s "$page" ]; then
		echo "FAIL: $fn ($where): no manual page man/man3/$fn.3"
		status=1
		continue
	fi
	target=$(sed -n '1s/^\.so[[:blank:]][[:blank:]]*\(man3\/[^[:blank:]]*\)[[:blank:]]*$/\1/p' "$page")
	if [ -n "$target" ]; then
		if [ ! -s "$top/man/$target" ]; then
			echo "FAIL: $fn: man/man3/$fn.3 links to man/$target, which does not exist"
			status=1
			continue
		fi
		page="$top/man/$target"
	fi
	if ! grep -q '^\.TH[[:blank:]]' "$page"; then
		echo "FAIL: $fn: ${page#"$top"/} is not a manual page (no .TH)"
		status=1
	elif ! grep -Eq "(^|[^A-Za-z0-9_])$fn([^A-Za-z0-9_]|\$)" "$page"; then
		echo "FAIL: $fn: ${page#"$top"/} does not mention $fn"
		status=1
	fi
done < "$tmp/decls"

if [ $status -eq 0 ]; then
	echo "ok: $n public functions documented"
fi
exit $status
