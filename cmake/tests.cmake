# Tests of the install tree and the package (cmake/tests/).  Both install
# from this build directory, so they take a lock rather than run together.
if(NOT BUILD_TESTING OR NOT TARGET fdsoak OR NOT TARGET fdsoak-gateway)
  return()
endif()

add_test(NAME install_tree
  COMMAND sh ${PROJECT_SOURCE_DIR}/cmake/tests/install_tree.sh ${PROJECT_BINARY_DIR}
             ${PROJECT_SOURCE_DIR})
set_tests_properties(install_tree PROPERTIES LABELS integration TIMEOUT 120
  RESOURCE_LOCK fdsoak_install)

# Every installed header declares only what its own library defines.
add_test(NAME header_promise
  COMMAND sh ${PROJECT_SOURCE_DIR}/cmake/tests/header_promise.sh ${PROJECT_BINARY_DIR})
set_tests_properties(header_promise PROPERTIES LABELS unit TIMEOUT 60 SKIP_RETURN_CODE 77
  RESOURCE_LOCK fdsoak_install)

add_test(NAME package_deb
  COMMAND sh ${PROJECT_SOURCE_DIR}/cmake/tests/package_deb.sh ${PROJECT_BINARY_DIR})
# cpack and lintian take a minute each on a busy machine.
set_tests_properties(package_deb PROPERTIES LABELS package TIMEOUT 360 SKIP_RETURN_CODE 77
  RESOURCE_LOCK fdsoak_install)

# The man pages format without a groff warning.
find_program(FDSOAK_GROFF groff)
if(FDSOAK_GROFF)
  add_test(NAME man_pages
    COMMAND sh -c "st=0; for f in \"$@\"; do out=$(${FDSOAK_GROFF} -man -ww -z \"$f\" 2>&1); if [ -n \"$out\" ]; then echo \"$f: $out\"; st=1; fi; done; exit $st"
            sh ${PROJECT_SOURCE_DIR}/docs/man/fdsoak.1 ${PROJECT_SOURCE_DIR}/docs/man/fdsoak-gateway.1
            ${PROJECT_SOURCE_DIR}/docs/man/fdsoak-platformd.1 ${PROJECT_SOURCE_DIR}/docs/man/fdsoak-inject.7)
  set_tests_properties(man_pages PROPERTIES LABELS unit TIMEOUT 30)
endif()

# arm64: a cross-build of this tree (cmake/aarch64-linux-gnu.cmake, in
# build-arm64/ beside this build) booted on a Debian arm64 kernel under
# qemu-system-aarch64 (TCG): the seccomp engine's faults and origins on
# static Go and C programs and the shim in fdsoak run (ci/arm64, which
# installs the arm64 packages it needs).  About 1-3 minutes; qemu runs two
# vCPUs, so the test takes two of ctest's slots.
add_test(NAME arm64_vm
  COMMAND sh ${PROJECT_SOURCE_DIR}/ci/arm64 ${PROJECT_BINARY_DIR}/arm64)
set_tests_properties(arm64_vm PROPERTIES LABELS arm64 TIMEOUT 900 PROCESSORS 2)
