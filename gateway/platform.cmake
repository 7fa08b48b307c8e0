# The platform adapter (kind "platform"), its peer fdsoak-platformd, and
# their tests.  Included by gateway/CMakeLists.txt after the gw and
# gw_regress libraries are defined.

pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)

gw_core_sources(adapters/platform/adapter_platform.c adapters/platform/ledger.c)
gw_core_link(PkgConfig::CJSON)

add_executable(fdsoak-platformd platformd/platformd.c)
target_include_directories(fdsoak-platformd PRIVATE ${GW_PRIVATE_INCLUDES})
target_link_libraries(fdsoak-platformd PRIVATE gw)
fdsoak_target_defaults(fdsoak-platformd)

if(NOT BUILD_TESTING)
  return()
endif()

gw_unit_test(gw_test_handshake tests/test_handshake.c gw)

# The platform test spawns the peer, so it needs the peer built and its path.
foreach(t gw_test_platform gw_test_platform_regress)
  if(t STREQUAL "gw_test_platform")
    gw_unit_test(${t} tests/test_platform.c gw)
  else()
    gw_unit_test(${t} tests/test_platform.c gw_regress)
  endif()
  target_compile_definitions(${t} PRIVATE
    FDSOAK_PLATFORMD="$<TARGET_FILE:fdsoak-platformd>")
  add_dependencies(${t} fdsoak-platformd)
endforeach()
