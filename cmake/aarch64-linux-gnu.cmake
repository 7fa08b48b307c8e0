# Cross-build for arm64 (aarch64) on a Debian x86-64 host with multiarch:
#   dpkg --add-architecture arm64; apt-get install gcc-aarch64-linux-gnu
#   and the :arm64 -dev packages (ci/arm64 installs them).
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(FDSOAK_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${FDSOAK_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${FDSOAK_TRIPLE}-g++)
# Headers and libraries of the :arm64 packages live in the host's /usr, in
# their multiarch directories; the cross compiler searches those itself.
set(CMAKE_FIND_ROOT_PATH /usr/${FDSOAK_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_LIBRARY_ARCHITECTURE ${FDSOAK_TRIPLE})
# pkg-config must read the arm64 .pc files only, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${FDSOAK_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
# Test programs cannot run here: CTest would run them under qemu-user if it
# were asked to; ci/arm64 runs them in an arm64 VM instead.
set(CMAKE_CROSSCOMPILING_EMULATOR "")
