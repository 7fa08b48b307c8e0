# The platform adapter (kind "platform"), its peer fdsoak-platformd, and
# their tests.  Included by gateway/CMakeLists.txt after the gw and
# gw_regress libraries are defined.

pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)

gw_core_sources(adapters/platform/adapter_platform.c adapters/platform/ledger.c
                adapters/platform/codec.c)
gw_core_link(PkgConfig::CJSON)

# The wire codec alone (codec.h): what the peer links instead of gw.  gw and
# gw_regress compile codec.c in themselves (above), as they do core/util.c,
# so that libgw.a stays whole and the install set gains no library.
add_library(gw_platcodec STATIC adapters/platform/codec.c)
target_include_directories(gw_platcodec
  PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/adapters/platform ${CMAKE_CURRENT_SOURCE_DIR}/include)
target_link_libraries(gw_platcodec PUBLIC PkgConfig::CJSON PkgConfig::LIBUV)
fdsoak_target_defaults(gw_platcodec)

add_executable(fdsoak-platformd platformd/platformd.c)
target_link_libraries(fdsoak-platformd PRIVATE gw_platcodec gw_util)
target_compile_definitions(fdsoak-platformd PRIVATE FDSOAK_VERSION="${PROJECT_VERSION}")
fdsoak_target_defaults(fdsoak-platformd)

if(NOT BUILD_TESTING)
  return()
endif()

gw_unit_test(gw_test_handshake tests/test_handshake.c gw)

# The peer carries the codec and util.c and nothing else of the gateway
# (tests/platformd_deps.sh says what it checks).
add_test(NAME gw_platformd_links_codec_only
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/platformd_deps.sh $<TARGET_FILE:fdsoak-platformd>)
set_tests_properties(gw_platformd_links_codec_only PROPERTIES LABELS unit)

# --version and --help answer on stdout and exit 0; an unknown flag is a
# usage error, exit 2.
gw_cli_test(gw_platformd_version "^fdsoak-platformd ${GW_VERSION_RE}\nexit 0\n$"
  fdsoak-platformd --version)
gw_cli_test(gw_platformd_help "^usage: fdsoak-platformd .*--version.*\nexit 0\n$"
  fdsoak-platformd --help)
gw_cli_test(gw_platformd_unknown_flag "unknown flag '--bogus'.*\nexit 2\n$"
  fdsoak-platformd --bogus)

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
