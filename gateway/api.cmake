# The api adapter: response store, HTTP server (llhttp), echo agent.
# Included by gateway/CMakeLists.txt after the gw / gw_regress libraries
# are defined.

pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)

# llhttp ships as C sources in Debian's node-llhttp; it is vendored code, so
# its warnings are not ours to fix.  An object library: its objects go into
# libgw.a itself, so the installed library needs no llhttp beside it.
set(LLHTTP_SRC_DIR /usr/share/llhttp CACHE PATH "llhttp C sources (node-llhttp)")
set(LLHTTP_INCLUDE_DIR /usr/share/include/llhttp CACHE PATH "llhttp headers (node-llhttp)")
if(NOT EXISTS ${LLHTTP_SRC_DIR}/llhttp.c OR NOT EXISTS ${LLHTTP_INCLUDE_DIR}/llhttp.h)
  message(FATAL_ERROR "llhttp sources not found in ${LLHTTP_SRC_DIR}: install node-llhttp")
endif()
if(NOT TARGET llhttp)
  add_library(llhttp OBJECT
    ${LLHTTP_SRC_DIR}/api.c ${LLHTTP_SRC_DIR}/http.c ${LLHTTP_SRC_DIR}/llhttp.c)
  target_include_directories(llhttp PUBLIC ${LLHTTP_INCLUDE_DIR})
  target_compile_options(llhttp PRIVATE -w)
  target_link_libraries(llhttp PRIVATE fdsoak_sanitizers)
  set_target_properties(llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON)
endif()

gw_core_sources(
  infra/store.c
  infra/http.c
  infra/http_message.c
  infra/keycmp.c
  adapters/api/echo.c
  adapters/api/adapter_api.c
  adapters/api/routes.c
  adapters/api/responses.c
  adapters/api/api_json.c
  $<TARGET_OBJECTS:llhttp>
)
# infra/http.h includes llhttp.h: the tests that reach the private headers
# need it too (the installed gw.h does not).
foreach(lib gw gw_regress)
  target_include_directories(${lib} PUBLIC $<BUILD_INTERFACE:${LLHTTP_INCLUDE_DIR}>)
endforeach()
gw_core_link(PkgConfig::CJSON)

if(NOT BUILD_TESTING)
  return()
endif()

foreach(t store http api keycmp)
  gw_unit_test(gw_test_${t} tests/test_${t}.c gw)
endforeach()
# The same api test against the regress library: with store-close chosen
# it must see the store's fds outlive disconnect.
gw_unit_test(gw_test_api_regress tests/test_api.c gw_regress)

# SQL only with bound parameters: every sqlite3_exec/prepare in the gateway
# takes literal SQL (or a literal-only constant), and no SQL string builder
# is used.  The second runs the checker on a fixture that breaks the
# rule, so a checker that stopped seeing anything would fail here.
add_test(NAME gw_sql_bound_parameters
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/tests/check_sql_bound.py
          ${CMAKE_CURRENT_SOURCE_DIR}/core ${CMAKE_CURRENT_SOURCE_DIR}/infra
          ${CMAKE_CURRENT_SOURCE_DIR}/adapters ${CMAKE_CURRENT_SOURCE_DIR}/daemon
          ${CMAKE_CURRENT_SOURCE_DIR}/platformd ${CMAKE_CURRENT_SOURCE_DIR}/tests/adapter_test.c)
add_test(NAME gw_sql_bound_parameters_detects
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/tests/check_sql_bound.py
          ${CMAKE_CURRENT_SOURCE_DIR}/tests/data/sql_built_at_runtime.c)
set_tests_properties(gw_sql_bound_parameters gw_sql_bound_parameters_detects
  PROPERTIES LABELS unit TIMEOUT 30)
# Every one of the fixture's five offences must be reported (an exit code
# alone would pass on a crash).
set_tests_properties(gw_sql_bound_parameters_detects PROPERTIES
  PASS_REGULAR_EXPRESSION "1 files, 5 SQL calls, 5 built at run time")
