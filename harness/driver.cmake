# The fdsoak executables (included by harness/CMakeLists.txt after the fsk
# library).  fdsoak links the release gateway core; fdsoak-regress is the
# same driver linked against the regress core, started by `fdsoak run
# --regress PATH` -- so the release gateway binary never carries regress code.

# Where an fdsoak finds the shim: from its own directory to the shim's
# private directory (LIBDIR/fdsoak) of the install layout, by its soname (so the runtime
# package needs no libfdsoak-inject.so link).  cli.c falls back to the
# build tree's ../lib/libfdsoak-inject.so; FDSOAK_INJECT_LIB overrides both.
file(RELATIVE_PATH FSK_BIN_TO_LIB /fdsoak-prefix/${CMAKE_INSTALL_BINDIR}
     /fdsoak-prefix/${CMAKE_INSTALL_LIBDIR})
set(FSK_SHIM_INSTALL_PATH "${FSK_BIN_TO_LIB}/fdsoak/libfdsoak-inject.so.0")
# The regress worker is no command of its own: it installs under
# libexec/fdsoak/, and each program finds the other from its own directory
# (cli.c, fsk__sibling_path; the build tree has them side by side).
file(RELATIVE_PATH FSK_BIN_TO_LIBEXEC /fdsoak-prefix/${CMAKE_INSTALL_BINDIR}
     /fdsoak-prefix/${CMAKE_INSTALL_LIBEXECDIR}/fdsoak)
file(RELATIVE_PATH FSK_LIBEXEC_TO_BIN /fdsoak-prefix/${CMAKE_INSTALL_LIBEXECDIR}/fdsoak
     /fdsoak-prefix/${CMAKE_INSTALL_BINDIR})

# elfutils names the frames of a leaked fd's origin (origin.c).
pkg_check_modules(LIBDW REQUIRED IMPORTED_TARGET libdw)

# The seccomp engine's connect decisions in the kernel (src/bpfconn.c): the
# BPF object is built by clang -target bpf and embedded through a bpftool
# skeleton.  Without libbpf, clang or bpftool the library is the stub that
# says so, and the engine keeps notifying connects.
pkg_check_modules(LIBBPF IMPORTED_TARGET libbpf)
find_program(FDSOAK_BPF_CLANG NAMES clang clang-14)
find_program(FDSOAK_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
add_library(fsk_bpfconn STATIC src/bpfconn.c)
target_include_directories(fsk_bpfconn PRIVATE src)
target_link_libraries(fsk_bpfconn PUBLIC inj_spec Threads::Threads)
fdsoak_target_defaults(fsk_bpfconn)
if(LIBBPF_FOUND AND FDSOAK_BPF_CLANG AND FDSOAK_BPFTOOL)
  set(BPF_OBJ ${CMAKE_CURRENT_BINARY_DIR}/connect.bpf.o)
  set(BPF_SKEL ${CMAKE_CURRENT_BINARY_DIR}/connect.skel.h)
  # The target's multiarch headers (asm/types.h...), not the build host's:
  # a cross-build for arm64 on x86-64 must read /usr/include/aarch64-linux-gnu.
  if(CMAKE_LIBRARY_ARCHITECTURE)
    set(BPF_MACH_DIR ${CMAKE_LIBRARY_ARCHITECTURE})
  else()
    execute_process(COMMAND uname -m OUTPUT_VARIABLE BPF_MACH OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(BPF_MACH_DIR ${BPF_MACH}-linux-gnu)
  endif()
  add_custom_command(OUTPUT ${BPF_OBJ}
    COMMAND ${FDSOAK_BPF_CLANG} -O2 -g -target bpf -mcpu=v3
            -I${CMAKE_CURRENT_SOURCE_DIR}/bpf -I/usr/include/${BPF_MACH_DIR}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/bpf/connect.bpf.c -o ${BPF_OBJ}
    DEPENDS bpf/connect.bpf.c bpf/bpfconn_abi.h VERBATIM)
  add_custom_command(OUTPUT ${BPF_SKEL}
    COMMAND sh -c "${FDSOAK_BPFTOOL} gen skeleton ${BPF_OBJ} name fsk_connect > ${BPF_SKEL}"
    DEPENDS ${BPF_OBJ} VERBATIM)
  target_sources(fsk_bpfconn PRIVATE ${BPF_SKEL})
  target_include_directories(fsk_bpfconn PRIVATE ${CMAKE_CURRENT_BINARY_DIR})
  target_compile_definitions(fsk_bpfconn PUBLIC FSK_HAVE_BPF=1)
  target_link_libraries(fsk_bpfconn PUBLIC PkgConfig::LIBBPF)
else()
  message(STATUS "harness: no libbpf/clang/bpftool: connects under the seccomp engine are notified")
endif()

set(FDSOAK_DRIVER_SOURCES src/main.c src/args.c src/cli.c src/run.c src/soak.c src/watch.c src/bench.c
    src/gate.c src/bisect.c src/origin.c src/proc.c src/sampler.c src/lang.c src/report.c
    src/speed.c src/supervise.c src/dnsstub.c src/gosym.c src/csym.c src/unreachd.c)
foreach(exe fdsoak fdsoak-regress)
  add_executable(${exe} ${FDSOAK_DRIVER_SOURCES})
  target_include_directories(${exe} PRIVATE src)
  target_link_libraries(${exe} PRIVATE fsk inj_spec PkgConfig::LIBUV PkgConfig::SQLITE3
                        PkgConfig::CJSON PkgConfig::LIBDW fsk_bpfconn dl Threads::Threads)
  # Export the driver's own symbols so dladdr() can name the frames of a
  # leaked fd's backtrace.
  set_target_properties(${exe} PROPERTIES ENABLE_EXPORTS ON)
  target_compile_definitions(${exe} PRIVATE FDSOAK_VERSION="${PROJECT_VERSION}"
                             FSK_LANG_SRC_DIR="${CMAKE_CURRENT_SOURCE_DIR}/lang"
                             FSK_SHIM_INSTALL_PATH="${FSK_SHIM_INSTALL_PATH}"
                             FSK_BIN_TO_LIBEXEC="${FSK_BIN_TO_LIBEXEC}"
                             FSK_LIBEXEC_TO_BIN="${FSK_LIBEXEC_TO_BIN}")
  fdsoak_target_defaults(${exe})
  add_dependencies(${exe} fdsoak-inject fdsoak-platformd)
endforeach()
# The Python 3.11 frame reader the shim loads into a CPython 3.11 process
# (harness/lang/python/fdsoak_py311.c): CPython's internal headers
# (python3.11-dev), no link against libpython (the symbols it calls come from
# the interpreter it is loaded into), no sanitizers (like the shim, it runs
# inside other programs).  Without the headers there are no Python frames,
# and watch says so.
find_path(FSK_PY311_INCLUDE NAMES internal/pycore_frame.h
          PATHS /usr/include/python3.11 /usr/local/include/python3.11 NO_DEFAULT_PATH)
# The headers include the target's multiarch pyconfig.h: a cross-build
# (cmake/aarch64-linux-gnu.cmake) has the host's headers but not the
# target's, and goes without Python frames.
set(FSK_PY311_ARCH_OK TRUE)
if(CMAKE_LIBRARY_ARCHITECTURE AND FSK_PY311_INCLUDE AND
   NOT EXISTS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/python3.11/pyconfig.h)
  set(FSK_PY311_ARCH_OK FALSE)
endif()
if(FSK_PY311_INCLUDE AND FSK_PY311_ARCH_OK)
  add_library(fdsoak-py311 MODULE ${CMAKE_CURRENT_SOURCE_DIR}/lang/python/fdsoak_py311.c)
  set_target_properties(fdsoak-py311 PROPERTIES PREFIX lib C_VISIBILITY_PRESET hidden
                        LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
  target_include_directories(fdsoak-py311 SYSTEM PRIVATE ${FSK_PY311_INCLUDE})
  target_compile_options(fdsoak-py311 PRIVATE -fno-strict-aliasing)
  fdsoak_target_defaults(fdsoak-py311 NO_SANITIZE)
  add_dependencies(fdsoak fdsoak-py311)
  install(TARGETS fdsoak-py311 LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/fdsoak COMPONENT runtime)
else()
  message(STATUS "harness: no Python 3.11 headers for ${CMAKE_SYSTEM_PROCESSOR} (python3.11-dev): no Python frames in "
                 "watch --origins lang")
endif()

# gcc's ASan runtime is a shared library that must come first in a
# program's library list; the worker started with the shim preloaded gets
# it prepended (main.c, set_preload).  clang links its runtime statically
# and needs nothing.
if(FDSOAK_ASAN AND CMAKE_C_COMPILER_ID STREQUAL "GNU")
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE FSK_ASAN_RUNTIME OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT IS_ABSOLUTE "${FSK_ASAN_RUNTIME}" OR NOT EXISTS "${FSK_ASAN_RUNTIME}")
    message(FATAL_ERROR "FDSOAK_ASAN: ${CMAKE_C_COMPILER} does not know where libasan.so is")
  endif()
  foreach(exe fdsoak fdsoak-regress)
    target_compile_definitions(${exe} PRIVATE FSK_ASAN_RUNTIME="${FSK_ASAN_RUNTIME}")
  endforeach()
endif()
target_link_libraries(fdsoak PRIVATE gw)
target_link_libraries(fdsoak-regress PRIVATE gw_regress)
# The regress worker uses gw.h's regress API (gw_regress_set).
target_compile_definitions(fdsoak-regress PRIVATE GW_REGRESS=1)

if(NOT BUILD_TESTING)
  return()
endif()

# A static binary for the "shim never loaded" refusal.  The sanitizer
# runtimes cannot be linked statically: no fdsoak_sanitizers here.
add_executable(fsk_static_probe tests/fsk_static_probe.c)
target_link_options(fsk_static_probe PRIVATE -static)
fdsoak_target_defaults(fsk_static_probe NO_SANITIZE)

# watch --speed: which time calls run at the virtual speed, and reconnect
# loops in C waiting with sleep(3) and with libuv's timers.  They stand for
# other people's programs, and watch preloads the shim and libfaketime ahead
# of anything else: an ASan-instrumented target would abort at start ("ASan
# runtime does not come first"), so these are never instrumented.
add_executable(fsk_speed_probe tests/speed_probe.c)
target_link_libraries(fsk_speed_probe PRIVATE Threads::Threads)
add_executable(fsk_speed_sleep_loop tests/speed/sleep_loop.c)
add_executable(fsk_speed_uv_loop tests/speed/uv_loop.c)
target_link_libraries(fsk_speed_uv_loop PRIVATE PkgConfig::LIBUV)
fdsoak_target_defaults(fsk_speed_probe fsk_speed_sleep_loop fsk_speed_uv_loop NO_SANITIZE)
foreach(case calls shim_timing bad_input asyncio threads node libuv sleep exhaustion)
  add_test(NAME fsk_speed_${case}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/speed/speed.sh ${case}
                   $<TARGET_FILE_DIR:fdsoak>)
  set_tests_properties(fsk_speed_${case} PROPERTIES LABELS "integration;speed" TIMEOUT 120
                       SKIP_RETURN_CODE 77)
endforeach()
# The seccomp engine: a static C probe the shim cannot reach, the engine's
# unit test on it, and a runner (fsk_sup_exec) for the fidelity cases and
# the benchmark, which compare a program under the supervisor with the real
# event.
add_executable(fsk_sup_probe tests/fsk_sup_probe.c)
target_link_options(fsk_sup_probe PRIVATE -static)
fdsoak_target_defaults(fsk_sup_probe NO_SANITIZE)
# The seed's reconnect loop as a static C program at -O2 (no frame
# pointers), with -g and without, for the C origins (go.sh c_origins).
add_executable(fsk_c_store tests/fsk_c_store.c)
add_executable(fsk_c_store_nog tests/fsk_c_store.c)
foreach(t fsk_c_store fsk_c_store_nog)
  target_link_options(${t} PRIVATE -static)
  target_compile_options(${t} PRIVATE -O2 -fomit-frame-pointer)
  fdsoak_target_defaults(${t} NO_SANITIZE)
endforeach()
target_compile_options(fsk_c_store PRIVATE -g)
target_compile_options(fsk_c_store_nog PRIVATE -g0)
add_executable(fsk_sup_exec tests/fsk_sup_exec.c src/supervise.c src/dnsstub.c src/gosym.c src/csym.c src/proc.c
  src/unreachd.c)
target_include_directories(fsk_sup_exec PRIVATE src)
target_link_libraries(fsk_sup_exec PRIVATE inj_spec fsk_bpfconn PkgConfig::LIBDW Threads::Threads)
fdsoak_target_defaults(fsk_sup_exec)
fdsoak_add_test(fsk_test_supervise tests/test_supervise.c LIBS inj_spec fsk_bpfconn PkgConfig::LIBDW Threads::Threads
                LABELS unit TIMEOUT 120 ENV "FSK_SUP_PROBE=$<TARGET_FILE:fsk_sup_probe>")
target_sources(fsk_test_supervise PRIVATE src/supervise.c src/dnsstub.c src/gosym.c src/csym.c src/proc.c)
target_include_directories(fsk_test_supervise PRIVATE src)
add_dependencies(fsk_test_supervise fsk_sup_probe)
# The .gopclntab symbolizer against go tool addr2line, on amd64 and
# (cross-compiled) arm64 builds of the Go reconnect loop.
fdsoak_add_test(fsk_test_gosym tests/test_gosym.c LABELS unit seccomp TIMEOUT 240
                ENV "FSK_GO_SRC=${CMAKE_CURRENT_SOURCE_DIR}/tests/go/reconnect.go;FSK_GO_CACHE=${CMAKE_BINARY_DIR}/go-cache")
target_sources(fsk_test_gosym PRIVATE src/gosym.c)
target_include_directories(fsk_test_gosym PRIVATE src)
set_tests_properties(fsk_test_gosym PROPERTIES SKIP_RETURN_CODE 77)
# Which rule sets the kernel's connect programs decide (bpfconn.c's
# fsk__bpfconn_expressible), each reason for keeping the notification path;
# and, as root in a build with eBPF, the programs against rules.c on random
# rule sets (a cgroup of its own, datagram connects on loopback).
fdsoak_add_test(fsk_test_bpfconn tests/test_bpfconn.c LIBS fsk_bpfconn LABELS unit)
target_include_directories(fsk_test_bpfconn PRIVATE src)
# The engine's DNS stub: packet parsing and answers, malformed input, and a
# round trip through the stub on loopback.
fdsoak_add_test(fsk_test_dnsstub tests/test_dnsstub.c LIBS Threads::Threads LABELS unit)
target_sources(fsk_test_dnsstub PRIVATE src/dnsstub.c)
target_include_directories(fsk_test_dnsstub PRIVATE src)
# End-to-end on static Go programs built at test time (go.sh), and the
# fidelity table client x event in a network namespace (go_fidelity.py).
foreach(case go_leak go_sh go_exec go_counting go_fidelity c_origins go_dns sup_rules go_bpf
             go_bpf_origins)
  add_test(NAME fsk_${case}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/go.sh ${case} $<TARGET_FILE_DIR:fdsoak>)
  set_tests_properties(fsk_${case} PROPERTIES LABELS "integration;seccomp" TIMEOUT 180
                       SKIP_RETURN_CODE 77)
endforeach()
set_tests_properties(fsk_go_fidelity fsk_go_dns PROPERTIES LABELS "fidelity;seccomp")
# The engine's documented limits (sup_limits.sh): a container's profile
# without CAP_SYS_PTRACE (fsk_noptrace imposes Docker's denials), and
# no_new_privs in the tree of an unprivileged fdsoak.
add_executable(fsk_noptrace tests/fsk_noptrace.c)
fdsoak_target_defaults(fsk_noptrace NO_SANITIZE)
foreach(case sup_noptrace sup_nnp)
  add_test(NAME fsk_${case} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/sup_limits.sh ${case}
                                    $<TARGET_FILE_DIR:fdsoak>)
  set_tests_properties(fsk_${case} PROPERTIES LABELS "integration;seccomp" TIMEOUT 120
                       SKIP_RETURN_CODE 77)
endforeach()

# End-to-end: the real fdsoak, the real shim, real processes.
foreach(case run_flat regress_fatal regress_retryable regress_exception regress_store-close
        watch_python watch_pid watch_tree watch_life watch_signal watch_observed run_signal
        bench_signal bad_input gate matrix valgrind long_flat)
  add_test(NAME fsk_e2e_${case}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e.sh ${case} $<TARGET_FILE_DIR:fdsoak>)
  set_tests_properties(fsk_e2e_${case} PROPERTIES LABELS "integration;soak" TIMEOUT 300)
endforeach()

# The realistic target suite of watch: real Python and node programs, clean
# ones with bounded noise of each kind and leaky ones, each asserting the
# exit code (harness/tests/targets/manifest.tsv).
add_test(NAME fsk_watch_targets COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/targets/run_suite.sh)
set_tests_properties(fsk_watch_targets PROPERTIES LABELS "integration;soak" TIMEOUT 600
                     ENVIRONMENT "FDSOAK=$<TARGET_FILE:fdsoak>;SUITE_JOBS=2")

# Leak origins in the program's own language: Python and Node programs that
# leak from a known line, each checked to name it, and flat when fixed.
add_test(NAME fsk_lang_origins COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/lang/run.sh)
set_tests_properties(fsk_lang_origins PROPERTIES LABELS integration TIMEOUT 600
                     ENVIRONMENT "FDSOAK=$<TARGET_FILE:fdsoak>;LANG_JOBS=2")
# The Node preload against /proc/self/fd, and without changing behaviour.
add_test(NAME fsk_lang_node_preload
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/lang/node_preload_check.sh)
set_tests_properties(fsk_lang_node_preload PROPERTIES LABELS integration TIMEOUT 120)

# A program under watch --origins lang behaves as it does alone (issue 23):
# each case runs a program plain and under watch and compares what it saw.
foreach(case py_deadlock py_signal py_site py_reader py_version py_full node_full node_hooks)
  add_test(NAME fsk_compat_${case}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/lang/compat.sh ${case})
  set_tests_properties(fsk_compat_${case} PROPERTIES LABELS compat TIMEOUT 180
                       SKIP_RETURN_CODE 77 ENVIRONMENT "FDSOAK=$<TARGET_FILE:fdsoak>")
endforeach()

# Each verb's --help (printed from its flag table) and fdsoak(1) name the
# same flags.
add_test(NAME fsk_cli_man
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli_man.sh $<TARGET_FILE:fdsoak>
                 ${PROJECT_SOURCE_DIR}/docs/man/fdsoak.1)
set_tests_properties(fsk_cli_man PROPERTIES LABELS unit TIMEOUT 30)

# The README's examples, run as written (ci/readme-check).
add_test(NAME readme_examples
         COMMAND python3 ${PROJECT_SOURCE_DIR}/ci/readme-check ${PROJECT_BINARY_DIR})
set_tests_properties(readme_examples PROPERTIES LABELS integration TIMEOUT 600)

# The main job itself, on the build under test and a short soak.
add_test(NAME ci_soak_short
         COMMAND ${PROJECT_SOURCE_DIR}/ci/soak --cycles 200 --warmup 20 -q
                 --out ${PROJECT_BINARY_DIR}/ci-soak-short)
set_tests_properties(ci_soak_short PROPERTIES LABELS "integration;soak" TIMEOUT 300
                     ENVIRONMENT "FDSOAK_BUILD_DIR=${PROJECT_BINARY_DIR}")

# The release gate, short: every check runs, the soak is 300 cycles.
add_test(NAME ci_release_gate_short COMMAND ${PROJECT_SOURCE_DIR}/ci/release-gate)
set_tests_properties(ci_release_gate_short PROPERTIES LABELS soak TIMEOUT 600
  ENVIRONMENT "FDSOAK_BUILD_DIR=${PROJECT_BINARY_DIR};GATE_CYCLES=300;GATE_OUT=${PROJECT_BINARY_DIR}/release-gate-short")

# fdsoak bisect on a generated twelve-commit history of a Python program.
add_test(NAME fsk_bisect COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/bisect.sh $<TARGET_FILE_DIR:fdsoak>)
set_tests_properties(fsk_bisect PROPERTIES LABELS integration TIMEOUT 300)

# fdsoak gate over several run directories (a soak spread over CI jobs):
# complementary, overlapping, leaking and incomplete sets, report.md and SVG.
add_test(NAME fsk_gate_fanin COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/gate_fanin.sh $<TARGET_FILE_DIR:fdsoak>)
set_tests_properties(fsk_gate_fanin PROPERTIES LABELS integration TIMEOUT 300)

# The GitHub Action's steps (action.yml -> ci/action-run) run on this
# machine, with the job summary in a temp file.
add_test(NAME ci_action_steps COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/action_steps.sh ${PROJECT_BINARY_DIR})
set_tests_properties(ci_action_steps PROPERTIES LABELS integration TIMEOUT 300)

# The hosted workflow and the action pass ci/lint-workflows (yamllint and a
# structural check); broken copies fail.
add_test(NAME ci_lint_workflows COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/lint_workflows.sh)
set_tests_properties(ci_lint_workflows PROPERTIES LABELS integration TIMEOUT 240)

# The leak report a person reads (harness/tests/report): the groups and
# the exact attempts against a program that logs its own, `fdsoak report`,
# and SARIF validated against the SARIF 2.1.0 schema.
foreach(case exact sarif)
  add_test(NAME fsk_report_${case}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/report/e2e.sh ${case} $<TARGET_FILE:fdsoak>)
  set_tests_properties(fsk_report_${case} PROPERTIES LABELS integration TIMEOUT 180
                       SKIP_RETURN_CODE 77)
endforeach()

# Issue 24's output rows: every file fdsoak writes is valid for its format,
# and no name the target holds reaches a terminal or a report as an escape
# or markup; the job summary stays under GitHub's 1 MiB, and the program's
# output cannot fake its heading.  One soak (the fixture), five checks.
add_test(NAME fsk_hostile_report_soak
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/report/hostile.sh soak ${PROJECT_BINARY_DIR}
                 ${PROJECT_BINARY_DIR}/hostile-report)
set_tests_properties(fsk_hostile_report_soak PROPERTIES LABELS hostile TIMEOUT 180
                     FIXTURES_SETUP fsk_hostile_report)
foreach(check utf8 term markdown size heading)
  add_test(NAME fsk_hostile_report_${check}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/report/hostile.sh ${check}
                   ${PROJECT_BINARY_DIR}/hostile-report)
  set_tests_properties(fsk_hostile_report_${check} PROPERTIES LABELS hostile TIMEOUT 60
                       FIXTURES_REQUIRED fsk_hostile_report)
endforeach()

# Watching changes nothing about how the target runs (issue 23): each
# perturbation fdsoak once caused, plain against watched.
foreach(case user sigign stderr pgrp orphan orphan_proc)
  add_test(NAME fsk_compat_${case}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/compat/perturb.sh ${case}
                   $<TARGET_FILE_DIR:fdsoak>)
  set_tests_properties(fsk_compat_${case} PROPERTIES LABELS compat TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
# The judge: CPython's regression tests (libpython3.11-testsuite), plain
# and under watch, outcome by outcome (modules.txt, allowed.txt).
add_test(NAME fsk_compat_cpython
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/tests/compat/cpython.py
                 $<TARGET_FILE_DIR:fdsoak>)
set_tests_properties(fsk_compat_cpython PROPERTIES LABELS compat TIMEOUT 600 SKIP_RETURN_CODE 77)

# Issue 24, the process side of watch under attack (hostile_proc.sh).
foreach(case emfile_word injected_emfile limit_raised tree_cap tree_cap_proc sighup_kill
         sighup_kill_proc sigpipe sigttin pidns)
  add_test(NAME fsk_hostile_${case}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/hostile_proc.sh ${case}
                   $<TARGET_FILE_DIR:fdsoak>)
  set_tests_properties(fsk_hostile_${case} PROPERTIES LABELS hostile TIMEOUT 180 SKIP_RETURN_CODE 77)
endforeach()

# Hostile input and circumstances (issue 24): a cut-short soak, malformed
# and ambiguous summaries, FIFOs, odd names, a full TMPDIR, a stats file
# that is somebody else's.  One CTest test per case of tests/hostile.sh.
foreach(case gate_interrupted gate_malformed gate_fifo gate_comma stats_existing full_tmpdir
             bisect_repo bisect_signals pid_reuse
             shim_control action_bytes action_inputs out_early proc_denied fork_bound
             shim_torn)
  add_test(NAME fsk_hostile_${case}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/hostile.sh ${case} ${PROJECT_BINARY_DIR})
  set_tests_properties(fsk_hostile_${case} PROPERTIES LABELS hostile TIMEOUT 120
                       SKIP_RETURN_CODE 77)
endforeach()
# It installs from this build, as install_tree and package_deb do.
add_test(NAME fsk_hostile_install_space
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/hostile.sh install_space ${PROJECT_BINARY_DIR})
set_tests_properties(fsk_hostile_install_space PROPERTIES LABELS hostile TIMEOUT 180
                     RESOURCE_LOCK fdsoak_install)
