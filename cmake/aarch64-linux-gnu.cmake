# Cross-building tern for 64-bit ARM Linux on a Debian x86-64 machine (make test-arm64):
# Debian's cross compiler, the arm64 builds of the libraries (multiarch), and qemu-user to run
# what was built (tests and tools) as if natively.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
# TERN_QEMU_CPU picks the emulated CPU: "max" has every extension (dot product, i8mm); a
# plain ARMv8.0 model ("cortex-a53") tests the fallbacks.
if(NOT DEFINED TERN_QEMU_CPU)
    set(TERN_QEMU_CPU max)
endif()
# The arm64 C library comes from Debian's multiarch packages (libc6:arm64, installed with the
# libraries), at the paths a native system has: qemu needs no -L prefix. (Pointing -L at the
# cross toolchain's older copy mixes two builds of glibc, and threaded programs hang.)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -cpu ${TERN_QEMU_CPU})
