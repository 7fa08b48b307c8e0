# What `cmake --install` puts where (GNUInstallDirs):
#
#   bin/        fdsoak, fdsoak-regress (the worker `fdsoak run --regress`
#               starts from fdsoak's own directory), fdsoak-gateway,
#               fdsoak-platformd
#   lib/        libfdsoak-inject.so.0 (the shim; fdsoak preloads it from
#               bin/../lib by soname), libgw.a, libfsk.a, libinj_spec.a,
#               pkgconfig/fdsoak.pc, cmake/fdsoak/fdsoakConfig*.cmake
#   include/fdsoak/  gw.h, inj.h, fsk.h, inj_lang.h (each declares only what
#               its own library defines: libgw.a, libinj_spec.a, libfsk.a
#               (with libinj_spec.a), the shim; cmake/tests/header_promise.sh)
#   share/fdsoak/lang/  the language hooks (fdsoak looks in bin/../share)
#   share/man/  fdsoak(1), fdsoak-gateway(1), fdsoak-platformd(1),
#               fdsoak-inject(7)
#
# Only what a configured component built is installed, so a subset build
# (FDSOAK_COMPONENTS) installs and exports its subset.

set(FDSOAK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/fdsoak)

# Exported as fdsoak::NAME (EXPORT_NAME where the target's name is not it).
set(_fdsoak_export "")
foreach(t inj_spec fdsoak-inject gw fsk fdsoak fdsoak-gateway fdsoak-platformd)
  if(TARGET ${t})
    list(APPEND _fdsoak_export ${t})
  endif()
endforeach()
foreach(pair fdsoak-gateway:gateway fdsoak-platformd:platformd)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 t)
  list(GET pair 1 name)
  if(TARGET ${t})
    set_target_properties(${t} PROPERTIES EXPORT_NAME ${name})
  endif()
endforeach()

install(TARGETS ${_fdsoak_export} EXPORT fdsoakTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fdsoak)

if(TARGET fdsoak-regress)
  install(TARGETS fdsoak-regress RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The language hooks, where lang.c looks: EXE_DIR/../share/fdsoak/lang.
if(TARGET fdsoak)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/harness/lang/
          DESTINATION ${CMAKE_INSTALL_DATADIR}/fdsoak/lang
          PATTERN __pycache__ EXCLUDE PATTERN "*.pyc" EXCLUDE
          # python/ holds the reader's source only: it is installed built,
          # as lib/libfdsoak-py311.so beside the shim.
          PATTERN python EXCLUDE)
endif()
if(TARGET fdsoak-gateway)
  install(FILES ${PROJECT_SOURCE_DIR}/gateway/gateway.sample.yaml
          DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
endif()

# Man pages, written in roff (docs/man).
set(_fdsoak_man1 "")
foreach(pair fdsoak:fdsoak fdsoak-gateway:fdsoak-gateway fdsoak-platformd:fdsoak-platformd)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 t)
  if(TARGET ${t})
    list(APPEND _fdsoak_man1 ${PROJECT_SOURCE_DIR}/docs/man/${t}.1)
  endif()
endforeach()
install(FILES ${_fdsoak_man1} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
if(TARGET fdsoak-inject)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/man/fdsoak-inject.7
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)
endif()

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
set(FDSOAK_SHIM_FILE "${CMAKE_INSTALL_LIBDIR}/libfdsoak-inject.so.0")

include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/fdsoakConfig.cmake.in
  ${PROJECT_BINARY_DIR}/fdsoakConfig.cmake
  INSTALL_DESTINATION ${FDSOAK_CMAKE_DIR}
  PATH_VARS FDSOAK_SHIM_FILE CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/fdsoakConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(EXPORT fdsoakTargets NAMESPACE fdsoak:: DESTINATION ${FDSOAK_CMAKE_DIR})
install(FILES ${PROJECT_BINARY_DIR}/fdsoakConfig.cmake
              ${PROJECT_BINARY_DIR}/fdsoakConfigVersion.cmake
        DESTINATION ${FDSOAK_CMAKE_DIR})

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
")
