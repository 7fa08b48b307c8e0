# The gateway daemon, fdsoak-gateway.  Included after the gw libraries are
# defined; the daemon links the release library only, so it carries no
# regress code.

pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)

add_executable(fdsoak-gateway daemon/main.c daemon/config_yaml.c)
# Not GW_PRIVATE_INCLUDES: the daemon reaches the adapters through gw.h like
# any program built on gw, and the core only through util.h (core/).
target_include_directories(fdsoak-gateway PRIVATE core daemon)
target_link_libraries(fdsoak-gateway PRIVATE gw PkgConfig::YAML)
target_compile_definitions(fdsoak-gateway PRIVATE FDSOAK_VERSION="${PROJECT_VERSION}")
fdsoak_target_defaults(fdsoak-gateway)

if(NOT BUILD_TESTING)
  return()
endif()

gw_unit_test(gw_test_daemon_config tests/test_daemon_config.c gw PkgConfig::YAML)
target_sources(gw_test_daemon_config PRIVATE daemon/config_yaml.c)
target_include_directories(gw_test_daemon_config PRIVATE daemon)

# The sample config must run as is: parse and validate it with the daemon.
add_test(NAME gw_sample_config_checks
  COMMAND fdsoak-gateway --config ${CMAKE_CURRENT_SOURCE_DIR}/gateway.sample.yaml --check)
set_tests_properties(gw_sample_config_checks PROPERTIES LABELS unit)

# --version and --help answer on stdout and exit 0; an unknown flag is a
# usage error, exit 2.
gw_cli_test(gw_gateway_version "^fdsoak-gateway ${GW_VERSION_RE}\nexit 0\n$"
  fdsoak-gateway --version)
gw_cli_test(gw_gateway_help "^usage: fdsoak-gateway .*--version.*\nexit 0\n$"
  fdsoak-gateway --help)
gw_cli_test(gw_gateway_unknown_flag "unknown or incomplete argument '--bogus'.*\nexit 2\n$"
  fdsoak-gateway --bogus)

# Integration: the daemon and the peer as processes, on ephemeral loopback
# ports.
file(GLOB GW_INTEGRATION_TESTS ${CMAKE_CURRENT_SOURCE_DIR}/tests/integration/*.sh)
foreach(script ${GW_INTEGRATION_TESTS})
  get_filename_component(tname ${script} NAME_WE)
  add_test(NAME gw_integration_${tname}
    COMMAND sh ${script} $<TARGET_FILE:fdsoak-gateway> $<TARGET_FILE:fdsoak-platformd>)
  # 77: a tool the test needs is missing (ci/testlib.sh's need; under CI
  # that fails instead).
  set_tests_properties(gw_integration_${tname} PROPERTIES LABELS integration TIMEOUT 180
    SKIP_RETURN_CODE 77)
endforeach()

# Hostile: what a hostile client, a hostile peer or a careless operator does
# (slowloris, flood peers, deleted or locked stores, closed stdio, signals,
# the peer under valgrind with many clients).  Each bounded to seconds.
file(GLOB GW_HOSTILE_TESTS ${CMAKE_CURRENT_SOURCE_DIR}/tests/hostile/*.sh)
foreach(script ${GW_HOSTILE_TESTS})
  get_filename_component(tname ${script} NAME_WE)
  add_test(NAME gw_hostile_${tname}
    COMMAND sh ${script} $<TARGET_FILE:fdsoak-gateway> $<TARGET_FILE:fdsoak-platformd>)
  set_tests_properties(gw_hostile_${tname} PROPERTIES LABELS hostile TIMEOUT 120
    SKIP_RETURN_CODE 77)
endforeach()
