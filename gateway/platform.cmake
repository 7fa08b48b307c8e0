# The platform adapter (kind "platform"), its peer fdsoak-platformd, and
# their tests.  Included by gateway/CMakeLists.txt before the gw and
# gw_regress libraries are defined, so the core sources go into GW_SOURCES;
# targets that link gw are fine here because CMake resolves names at
# generate time.

pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)

list(APPEND GW_SOURCES src/adapter_platform.c src/ledger.c)
list(APPEND GW_LINK PkgConfig::CJSON)

add_executable(fdsoak-platformd platformd/platformd.c)
target_include_directories(fdsoak-platformd PRIVATE src)
target_link_libraries(fdsoak-platformd PRIVATE gw)

if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_handshake.c)
  fdsoak_add_test(gw_test_handshake tests/test_handshake.c LIBS gw LABELS unit)
  target_include_directories(gw_test_handshake PRIVATE src tests)
endif()

# The platform test spawns the peer, so it needs the peer built and its path.
foreach(lib gw gw_regress)
  if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_platform.c)
    break()
  endif()
  if(lib STREQUAL "gw")
    set(t gw_test_platform)
  else()
    set(t gw_test_platform_regress)
  endif()
  fdsoak_add_test(${t} tests/test_platform.c LIBS ${lib} LABELS unit)
  target_include_directories(${t} PRIVATE src tests)
  target_compile_definitions(${t} PRIVATE
    FDSOAK_PLATFORMD="$<TARGET_FILE:fdsoak-platformd>")
  add_dependencies(${t} fdsoak-platformd)
endforeach()
