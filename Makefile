# The two commands of the README: `make run` and `make test`. Both install missing Debian
# build dependencies (as root), configure, build, then run. `make info` prints the machine report.
BUILD_DIR  ?= build
BUILD_TYPE ?= Release
WERROR     ?= OFF
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

DEB_PACKAGES      := cmake g++ make pkg-config libgtest-dev libgmock-dev libbenchmark-dev \
                     nlohmann-json3-dev libcli11-dev libpcre2-dev libutf8proc-dev libcpp-httplib-dev libssl-dev libboost-dev libsentencepiece-dev python3 \
                     python3-dev python3-pybind11 python3-numpy python3-pytest python3-venv python3-setuptools python3-wheel \
                     libopenmpi-dev openmpi-bin
DEB_PACKAGES_FUZZ := clang libclang-rt-14-dev
# The browser test of the chat page (tern serve's /): Debian's chromium, never a downloaded one.
DEB_PACKAGES_BROWSER := chromium fonts-liberation

# test-arm64: Debian's cross compiler and qemu-user, and these libraries for arm64 (multiarch).
DEB_PACKAGES_ARM64 := libpcre2-dev libutf8proc-dev libgtest-dev libcpp-httplib-dev libssl-dev
ARM64_TESTS        := tern_core_tests tern_quant_tests tern_kernels_tests tern_format_tests tern_model_tests \
                      tern_sampling_tests tern_engine_tests tern_tokenizer_tests tern_server_tests tern_hub_tests \
                      tern_cli_tests tern_api_tests

.PHONY: run info test deps build test-sanitize fuzz-smoke test-arm64 clean

# `make run` tells a story with the ternary model that ships in the repository.
MODEL  ?= models/tinystories/tinystories-bitnet.gguf
PROMPT ?= Once upon a time, there was a little fox named
run: build
	./$(BUILD_DIR)/tern run -m $(MODEL) -p "$(PROMPT)" -n 220 --temp 0.7 --seed 7

info: build
	./$(BUILD_DIR)/tern info

test: build
	@tools/install_deps.sh $(DEB_PACKAGES_BROWSER) || echo "tern: without chromium the chat page's browser test is skipped" >&2
	@tools/fetch_test_packages.sh $(BUILD_DIR)
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

deps:
	@tools/install_deps.sh $(DEB_PACKAGES)

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTERN_WERROR=$(WERROR) $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, at -O1 with line
# tables only (-g1): the level ASan recommends, enough for symbolised reports, and about half
# the compile time of -O2 -g, which dominates this target.
SANITIZE_FLAGS := -O1 -g1 -DNDEBUG
test-sanitize:
	$(MAKE) test BUILD_DIR=build-sanitize BUILD_TYPE=RelWithDebInfo \
	    CMAKE_ARGS="-DTERN_SANITIZE=address,undefined -DTERN_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO='$(SANITIZE_FLAGS)'"

# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS from its corpus.
FUZZ_SECONDS ?= 20
fuzz-smoke:
	@tools/install_deps.sh $(DEB_PACKAGES) $(DEB_PACKAGES_FUZZ)
	CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_FUZZ=ON \
	    -DTERN_BUILD_TESTS=OFF -DTERN_BUILD_BENCH=OFF -DTERN_WERROR=$(WERROR) \
	    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO='$(SANITIZE_FLAGS)'
	cmake --build build-fuzz -j $(JOBS) --target tern_fuzzers
	JOBS=$(JOBS) tools/run_fuzzers.sh build-fuzz $(FUZZ_SECONDS)

# Cross-builds the library, the tern binary and every test program that needs neither MPI nor
# Python for 64-bit ARM Linux and runs them under qemu-user, JOBS emulations at a time: with and
# without the dot-product and matrix-multiply extensions where the kernels differ, once
# elsewhere (tools/run_arm64_tests.sh says what runs where).
test-arm64:
	@tools/install_deps.sh $(DEB_PACKAGES)
	@tools/install_arm64_deps.sh $(DEB_PACKAGES_ARM64)
	cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
	    -DTERN_BUILD_BENCH=OFF -DTERN_PYTHON=OFF -DTERN_MPI=OFF -DTERN_WERROR=$(WERROR)
	cmake --build build-arm64 -j $(JOBS) --target $(ARM64_TESTS)
	@tools/fetch_test_packages.sh build-arm64
	JOBS=$(JOBS) tools/run_arm64_tests.sh build-arm64 $(ARM64_TESTS)

clean:
	rm -rf build build-sanitize build-fuzz build-arm64
