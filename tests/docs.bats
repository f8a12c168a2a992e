#!/usr/bin/env bats
# The documents the tree names: each exists in the repository, so that a
# clone needs nothing from outside it to follow a reference.
load lib/common

@test "docs: every .md file named in the tree is in the repository" {
	cd "$TOP"
	missing=""
	named=0
	while IFS=: read -r file ref; do
		named=$((named + 1))
		[ -e "$ref" ] || [ -e "$(dirname "$file")/$ref" ] ||
		    missing="$missing $file:$ref"
	done < <(grep -roE --exclude=docs.bats '[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b' \
	    README.md Dockerfile Makefile mk src tests fuzz man bench examples \
	    hooks share tools .ci 2>/dev/null)
	echo "# $named references to .md files" >&3
	assert_equal "$missing" ""
}

# not_in_layout SUFFIX FILE...: the FILEs, less SUFFIX, that the README's
# Layout section does not name.
not_in_layout() {
	local suffix=$1 f m layout
	shift
	layout=$(sed -n '/^## Layout/,/^## /p' "$TOP/README.md")
	for f in "$@"; do
		m=$(basename "$f" "$suffix")
		grep -qw -- "$m" <<<"$layout" || printf ' %s' "$m"
	done
}

@test "docs: the README's Layout names every module in src/" {
	cd "$TOP"
	assert_equal "$(not_in_layout .c src/*.c)" ""
}

@test "docs: the README's Layout names every test suite, and which need a broker" {
	cd "$TOP"
	assert_equal "$(not_in_layout .bats tests/*.bats)" ""
	layout=$(sed -n '/^## Layout/,/^## /p' README.md)
	# the suites said to run against a broker are those that start one
	said=$(tr -s ' \n' ' ' <<<"$layout" |
	    sed 's/.*private broker per file (\([^)]*\)).*/\1/' |
	    tr -c 'a-z-' '\n' | grep -vx -e '' -e with -e its -e cases -e in -e tests |
	    sort -u)
	real=$(grep -l '^load lib/broker' tests/*.bats | xargs -n1 basename |
	    sed 's/\.bats$//' | sort)
	assert_equal "$said" "$real"
}

@test "docs: no file of src/ but the protocol's tables spells a kind or an error type" {
	cd "$TOP"
	# the names, as the tables in kinds.c have them
	names=$(grep -oE '\{ "[A-Z][A-Za-z0-9]+"(, "[A-Z][A-Za-z0-9]+")?' src/kinds.c |
	    grep -oE '"[A-Za-z0-9]+"' | sort -u)
	assert [ "$(wc -l <<<"$names")" -ge 18 ]
	found=$(grep -nF -f <(printf '%s\n' $names) src/*.c src/*.h |
	    grep -v '^src/kinds\.[ch]:' || true)
	assert_equal "$found" ""
	# ErrorV1 too: kinds.h defines it once
	assert_equal "$(grep -l '"ErrorV1"' src/*.c src/*.h)" "src/kinds.h"
}
