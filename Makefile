# SPDX-License-Identifier: MIT
# Thin wrapper over meson/ninja. Targets: all check demo bench vmcheck format install deb
# archpkg clean.
BUILD   ?= build
PREFIX  ?= /usr
DESTDIR ?=

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

# Installs missing Debian packages (as root) for building and testing; see scripts/deps.
deps:
	scripts/deps build test package $(if $(SKIP_VM),,vm)

check: deps
	scripts/check

demo:
	scripts/deps build demo
	$(MAKE) all
	scripts/demo $(BUILD)/dual-root-tool

bench:
	scripts/deps build test bench
	$(MAKE) all
	bench/run-all $(BUILD)

format:
	scripts/format

# Case 10 installs the .deb built here.
vmcheck:
	scripts/deps build test package vm
	$(MAKE) all
	deb=$$(scripts/package deb | tail -n 1); [ -f "$$deb" ] || exit 1; DUAL_ROOT_DEB=$$deb tests/vm/run

# A build directory of its own: PREFIX decides the compiled-in config path, and must not
# leak into the build that tests run.
install:
	if [ -f $(BUILD)-install/build.ninja ]; then meson configure $(BUILD)-install -Dprefix=$(PREFIX); \
	else meson setup $(BUILD)-install --prefix=$(PREFIX) -Dtests=false >/dev/null; fi
	meson install -C $(BUILD)-install --destdir "$(if $(DESTDIR),$(abspath $(DESTDIR)),/)"

# The Debian package (dpkg-buildpackage -b on a clean copy of the tree) and the Arch package
# (makepkg in that copy's packaging/, as an unprivileged user when run as root; .pkg.tar.zst),
# both in build-pkg/.
deb:
	scripts/deps build package
	scripts/package deb

# On Arch (no apt-get) the dependencies are pacman's business: makedepends in the PKGBUILD.
archpkg:
	if command -v apt-get >/dev/null 2>&1; then scripts/deps build package; fi
	scripts/package arch

clean:
	rm -rf $(BUILD) $(BUILD)-install build-clang build-asan build-pkg

.PHONY: all deps check demo bench vmcheck format install deb archpkg clean
