# The .deb: `cpack -G DEB` in a build directory (ideally a Release one).
# One package holds the tools, the shim, and the headers and static
# libraries; its run-time dependencies come from dpkg-shlibdeps when
# dpkg-dev is installed, else from the list below.

set(CPACK_PACKAGE_NAME fdsoak)
set(CPACK_PACKAGE_VENDOR "fdsoak")
set(CPACK_PACKAGE_CONTACT "fdsoak maintainers <fdsoak@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "file-descriptor leak soak runner with an LD_PRELOAD fault injector")
set(CPACK_PACKAGE_DESCRIPTION
"fdsoak repeats a program's reconnect attempts under injected faults,
samples its fd table at every attempt, and reports the fds that leak and
where they were opened.  The package holds the fdsoak command, the
libfdsoak-inject.so.0 LD_PRELOAD shim, the reference gateway daemon and
its test peer, and the headers and static libraries of all three.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# `watch` soaks Python and Node programs (with their language hooks),
# `run --valgrind` needs valgrind, `bisect` needs git.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3, nodejs, valgrind, git")

find_program(FDSOAK_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(FDSOAK_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  # What dpkg-shlibdeps gives on Debian 12 (bookworm).
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libcjson1 (>= 1.7.13), libdw1 (>= 0.126), libsqlite3-0 (>= 3.31.1), libuv1 (>= 1.38.0), libyaml-0-2")
endif()

include(CPack)
