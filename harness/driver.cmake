# The fdsoak executables (included by harness/CMakeLists.txt after the fsk
# library).  fdsoak links the release gateway core; fdsoak-regress is the
# same driver linked against the regress core, started by `fdsoak run
# --regress PATH` -- so the release gateway binary never carries regress code.

target_sources(fsk PRIVATE src/fdtable.c src/tracker.c)

set(FDSOAK_DRIVER_SOURCES src/main.c src/soak.c src/watch.c src/bench.c src/gate.c)
foreach(exe fdsoak fdsoak-regress)
  add_executable(${exe} ${FDSOAK_DRIVER_SOURCES})
  target_include_directories(${exe} PRIVATE src)
  target_link_libraries(${exe} PRIVATE fsk inj_spec PkgConfig::LIBUV PkgConfig::SQLITE3
                        PkgConfig::CJSON dl)
  # Export the driver's own symbols so dladdr() can name the frames of a
  # leaked fd's backtrace.
  set_target_properties(${exe} PROPERTIES ENABLE_EXPORTS ON)
  add_dependencies(${exe} fdsoak-inject fdsoak-platformd)
endforeach()
target_link_libraries(fdsoak PRIVATE gw)
target_link_libraries(fdsoak-regress PRIVATE gw_regress)
