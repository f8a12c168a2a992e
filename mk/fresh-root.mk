# mk/fresh-root.mk: `make fresh-root-check`: the README's `make demo` and
# `make check`, as root in a fresh Debian 12 root (debootstrap minbase), so
# that a package missing from tools/deps shows.  See tools/fresh-root; about
# 13 minutes on two cores.  CI runs it last.

fresh-root-check: deps
	tools/fresh-root

.PHONY: fresh-root-check
