# mk/install.mk: `make install` and `make uninstall`, included by the Makefile.
#   make install [DESTDIR=/stage] [PREFIX=/usr/local] [BINDIR=...] [MANDIR=...]
# installs hca-exec and hca-portal, the man pages, the bats kit for hook
# authors ($(PKGDATADIR)/hca.bash) and the sample hooks ($(PKGDATADIR)/hooks).
# Every mode is set explicitly, whatever the umask: hca-exec refuses hooks
# (and hooks directories) that are group- or world-writable.

PKGDATADIR ?= $(PREFIX)/share/hca-exec
INSTALL	   ?= install
MANPAGES    = $(wildcard man/*.1 man/*.5 man/*.8)
HOOK_DIRS   = $(shell find hooks -type d)
HOOK_FILES  = $(shell find hooks -type f)

install: all
	$(INSTALL) -d -m 755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGDATADIR)
	$(INSTALL) -m 755 $(B)/hca-exec $(B)/hca-portal $(DESTDIR)$(BINDIR)/
	for m in $(MANPAGES); do \
		d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
		$(INSTALL) -d -m 755 "$$d" && $(INSTALL) -m 644 "$$m" "$$d/" || exit 1; \
	done
	$(INSTALL) -m 644 share/hca.bash $(DESTDIR)$(PKGDATADIR)/hca.bash
	for d in $(HOOK_DIRS); do \
		$(INSTALL) -d -m 755 "$(DESTDIR)$(PKGDATADIR)/$$d" || exit 1; \
	done
	for f in $(HOOK_FILES); do \
		$(INSTALL) -m 755 "$$f" "$(DESTDIR)$(PKGDATADIR)/$$f" || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hca-exec $(DESTDIR)$(BINDIR)/hca-portal
	for m in $(MANPAGES); do \
		rm -f "$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}"; \
	done
	rm -f $(DESTDIR)$(PKGDATADIR)/hca.bash
	for f in $(HOOK_FILES); do rm -f "$(DESTDIR)$(PKGDATADIR)/$$f"; done
	for d in $$(printf '%s\n' $(HOOK_DIRS) | sort -r); do \
		rmdir "$(DESTDIR)$(PKGDATADIR)/$$d" 2>/dev/null || :; \
	done
	rmdir $(DESTDIR)$(PKGDATADIR) 2>/dev/null || :

.PHONY: install uninstall
