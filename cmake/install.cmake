# What `cmake --install` puts where (GNUInstallDirs):
#
#   bin/        fdsoak, fdsoak-gateway, fdsoak-platformd
#   libexec/fdsoak/  fdsoak-regress (the worker `fdsoak run --regress`
#               starts; no command of its own)
#   lib/        fdsoak/libfdsoak-inject.so.0 (the shim; fdsoak preloads it
#               from bin/../lib/fdsoak by soname), libgw.a, libfsk.a,
#               libinj_spec.a,
#               pkgconfig/fdsoak.pc, cmake/fdsoak/fdsoakConfig*.cmake
#   include/fdsoak/  gw.h, inj.h, fsk.h, inj_lang.h (each declares only what
#               its own library defines: libgw.a, libinj_spec.a, libfsk.a
#               (with libinj_spec.a), the shim; cmake/tests/header_promise.sh)
#   share/fdsoak/lang/  the language hooks (fdsoak looks in bin/../share)
#   share/man/  fdsoak(1), fdsoak-gateway(1), fdsoak-platformd(1),
#               fdsoak-inject(7), gzipped
#
# Only what a configured component built is installed, so a subset build
# (FDSOAK_COMPONENTS) installs and exports its subset.

set(FDSOAK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/fdsoak)

# Two components, as Debian splits a library (cmake/package.cmake): runtime
# (the commands, the shim, the regress worker, the language hooks, the man
# pages: package fdsoak) and dev (headers, static libraries, pkg-config and
# CMake files: package libfdsoak-dev).
set(_fdsoak_runtime "")
set(_fdsoak_dev "")
foreach(t fdsoak-inject fdsoak fdsoak-gateway fdsoak-platformd)
  if(TARGET ${t})
    list(APPEND _fdsoak_runtime ${t})
  endif()
endforeach()
foreach(t inj_spec gw fsk)
  if(TARGET ${t})
    list(APPEND _fdsoak_dev ${t})
  endif()
endforeach()
# Exported as fdsoak::NAME (EXPORT_NAME where the target's name is not it).
foreach(pair fdsoak-gateway:gateway fdsoak-platformd:platformd)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 t)
  list(GET pair 1 name)
  if(TARGET ${t})
    set_target_properties(${t} PROPERTIES EXPORT_NAME ${name})
  endif()
endforeach()

# The shim is a preload plugin, not a library programs link: it goes in a
# directory of its own, out of ldconfig's path, as Debian places such
# libraries (libfaketime's /usr/lib/*/faketime/), with no link name.
install(TARGETS ${_fdsoak_runtime} ${_fdsoak_dev} EXPORT fdsoakTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/fdsoak COMPONENT runtime NAMELINK_SKIP
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fdsoak COMPONENT dev)

if(TARGET fdsoak-regress)
  install(TARGETS fdsoak-regress RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/fdsoak
          COMPONENT runtime)
endif()

# The language hooks, where lang.c looks: EXE_DIR/../share/fdsoak/lang.
if(TARGET fdsoak)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/harness/lang/
          DESTINATION ${CMAKE_INSTALL_DATADIR}/fdsoak/lang COMPONENT runtime
          PATTERN __pycache__ EXCLUDE PATTERN "*.pyc" EXCLUDE
          # python/ holds the reader's source only: it is installed built,
          # as lib/fdsoak/libfdsoak-py311.so beside the shim.
          PATTERN python EXCLUDE)
endif()
if(TARGET fdsoak-gateway)
  install(FILES ${PROJECT_SOURCE_DIR}/gateway/gateway.sample.yaml
          DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT runtime)
endif()

# Man pages, written in roff (docs/man), installed gzipped (Debian policy
# 12.1: gzip -9n, so the package is reproducible).
find_program(FDSOAK_GZIP gzip REQUIRED)
set(_fdsoak_man "")
foreach(pair fdsoak:fdsoak.1 fdsoak-gateway:fdsoak-gateway.1 fdsoak-platformd:fdsoak-platformd.1
             fdsoak-inject:fdsoak-inject.7)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 t)
  list(GET pair 1 page)
  if(TARGET ${t})
    set(_gz ${PROJECT_BINARY_DIR}/man/${page}.gz)
    add_custom_command(OUTPUT ${_gz}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${FDSOAK_GZIP} -9n -c ${PROJECT_SOURCE_DIR}/docs/man/${page} > ${_gz}
      DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/${page} VERBATIM)
    list(APPEND _fdsoak_man ${_gz})
    string(REGEX REPLACE ".*\\." "" _sect ${page})
    install(FILES ${_gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${_sect} COMPONENT runtime)
  endif()
endforeach()
add_custom_target(fdsoak_man ALL DEPENDS ${_fdsoak_man})

# Each package's copyright and changelog, where Debian wants them.
configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/changelog.in
               ${PROJECT_BINARY_DIR}/debian/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/debian/changelog.Debian.gz
  COMMAND ${FDSOAK_GZIP} -9n -f -k ${PROJECT_BINARY_DIR}/debian/changelog.Debian
  DEPENDS ${PROJECT_BINARY_DIR}/debian/changelog.Debian VERBATIM)
add_custom_target(fdsoak_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/debian/changelog.Debian.gz)
# lintian's overrides too, each tag with its reason in the file.
foreach(pair runtime:fdsoak dev:libfdsoak-dev)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 comp)
  list(GET pair 1 pkg)
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright
                ${PROJECT_BINARY_DIR}/debian/changelog.Debian.gz
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${comp})
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/${pkg}.lintian-overrides
          DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME ${pkg}
          COMPONENT ${comp})
endforeach()

# ---- fdsoakConfig.cmake ------------------------------------------------------
# The exported targets carry their pkg-config dependencies as
# PkgConfig::NAME; the config file finds the ones the exported set needs.
set(FDSOAK_CONFIG_PKGS "")
if(TARGET gw)
  string(APPEND FDSOAK_CONFIG_PKGS "_fdsoak_pkg(LIBUV libuv)\n_fdsoak_pkg(SQLITE3 sqlite3)\n")
endif()
if(TARGET gw OR TARGET fsk)
  string(APPEND FDSOAK_CONFIG_PKGS "_fdsoak_pkg(CJSON libcjson)\n")
endif()
set(FDSOAK_SHIM_FILE "${CMAKE_INSTALL_LIBDIR}/fdsoak/libfdsoak-inject.so.0")

include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/fdsoakConfig.cmake.in
  ${PROJECT_BINARY_DIR}/fdsoakConfig.cmake
  INSTALL_DESTINATION ${FDSOAK_CMAKE_DIR}
  PATH_VARS FDSOAK_SHIM_FILE CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/fdsoakConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(EXPORT fdsoakTargets NAMESPACE fdsoak:: DESTINATION ${FDSOAK_CMAKE_DIR} COMPONENT dev)
install(FILES ${PROJECT_BINARY_DIR}/fdsoakConfig.cmake
              ${PROJECT_BINARY_DIR}/fdsoakConfigVersion.cmake
        DESTINATION ${FDSOAK_CMAKE_DIR} COMPONENT dev)

# ---- fdsoak.pc ---------------------------------------------------------------
# Written at install time, so its prefix is the one installed to (`cmake
# --install --prefix`, cpack's /usr), not the one configured.  The first
# pass fills everything known now and leaves @CMAKE_INSTALL_PREFIX@ for the
# second, run by the install script.
set(FDSOAK_PC_REQUIRES "")
set(FDSOAK_PC_LIBS "")
if(TARGET gw)
  set(FDSOAK_PC_REQUIRES "libuv sqlite3 libcjson")
  string(APPEND FDSOAK_PC_LIBS " -lgw")
elseif(TARGET fsk)
  set(FDSOAK_PC_REQUIRES "libcjson")
endif()
foreach(t fsk inj_spec)
  if(TARGET ${t})
    string(APPEND FDSOAK_PC_LIBS " -l${t}")
  endif()
endforeach()
set(FDSOAK_PC_PREFIX "@CMAKE_INSTALL_PREFIX@")
configure_file(${PROJECT_SOURCE_DIR}/cmake/fdsoak.pc.in ${PROJECT_BINARY_DIR}/fdsoak.pc.in @ONLY)
install(CODE "
  set(_pc_stage \"${PROJECT_BINARY_DIR}/pc-staging/\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/fdsoak.pc.in\" \"\${_pc_stage}/fdsoak.pc\" @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\"
       TYPE FILE FILES \"\${_pc_stage}/fdsoak.pc\")
" COMPONENT dev)
