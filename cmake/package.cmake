# The .debs: `cpack -G DEB` in a build directory (ideally a Release one)
# makes two packages, as Debian splits a library:
#   fdsoak          the commands, the LD_PRELOAD shim (lib/fdsoak/
#                   libfdsoak-inject.so.0: a preload plugin fdsoak finds by
#                   path, not a library to link, so it stays with its command
#                   in a private directory, out of ldconfig's path),
#                   the regress worker (libexec/fdsoak), the language hooks,
#                   the man pages (gzipped), the sample config
#   libfdsoak-dev   headers, static libraries (libgw.a, libfsk.a,
#                   libinj_spec.a), fdsoak.pc and the
#                   CMake package files; depends on fdsoak of the same version
#                   (fdsoakConfig.cmake and fdsoak.pc name its programs)
# fdsoak's run-time dependencies come from dpkg-shlibdeps when dpkg-dev is
# installed, else from the list below.

set(CPACK_PACKAGE_NAME fdsoak)
set(CPACK_PACKAGE_VENDOR "fdsoak")
set(CPACK_PACKAGE_CONTACT "fdsoak maintainers <fdsoak@example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# A Debian revision: the packaging is not upstream's own (no debian/ dir),
# so the changelog is changelog.Debian.gz.
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
# Stripped, as Debian ships binaries (the harness's frames keep their names:
# they are exported, ENABLE_EXPORTS, and .dynsym survives stripping).
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.org/fdsoak")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME fdsoak)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION devel)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
"file-descriptor leak soak runner with an LD_PRELOAD fault injector
fdsoak repeats a program's reconnect attempts under injected faults,
samples its fd table at every attempt, and reports the fds that leak and
where they were opened.  The package holds the fdsoak command, the
libfdsoak-inject.so.0 LD_PRELOAD shim, and the reference gateway daemon
and its test peer.")
# `watch` soaks Python and Node programs (with their language hooks),
# `run --valgrind` needs valgrind, `bisect` needs git.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "python3, nodejs, valgrind, git")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libfdsoak-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
"fdsoak's libraries and headers, for building against them
The static libraries of fdsoak's three parts with their headers: the
reference gateway core (libgw.a, gw.h), the soak harness (libfsk.a,
fsk.h), the fault-injection rule parser and stats reader (libinj_spec.a,
inj.h), and the shim's language-origin callback (inj_lang.h); fdsoak.pc
and fdsoakConfig.cmake find them.")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "fdsoak (= ${PROJECT_VERSION}-1), libuv1-dev, libsqlite3-dev, libcjson-dev")

find_program(FDSOAK_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(FDSOAK_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
else()
  # What dpkg-shlibdeps gives on Debian 12 (bookworm).
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libcjson1 (>= 1.7.13), libdw1 (>= 0.126), libsqlite3-0 (>= 3.31.1), libuv1 (>= 1.38.0), libyaml-0-2")
endif()

include(CPack)
