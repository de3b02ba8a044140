# Thin wrapper over CMake.  `make test` and `make demo` install any missing
# Debian packages first, so they work on a fresh machine.
BUILD      ?= build
SAN_BUILD  ?= build-sanitize
TSAN_BUILD ?= build-tsan
MIN_BUILD  ?= build-minimal
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps configure test test-fast test-sanitize test-tsan test-install minimal demo bench install clean fuzz

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@sh tools/install-deps.sh

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

# The whole suite, then again under ASan+UBSan, then an installed-copy check.
test: deps
	$(MAKE) test-fast
	$(MAKE) test-sanitize
	$(MAKE) test-tsan
	$(MAKE) test-install
	$(MAKE) minimal

test-fast: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-sanitize:
	@test -f $(SAN_BUILD)/CMakeCache.txt || cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCK_SANITIZE=ON
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# The thread tests (tests/threads/) under ThreadSanitizer.
test-tsan:
	@test -f $(TSAN_BUILD)/CMakeCache.txt || cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCK_TSAN=ON
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_threads test_thread_pool_plain
	cd $(TSAN_BUILD) && ctest --output-on-failure -R '^test_thread(s|_pool_plain)$$'

test-install: all
	sh tests/install/check_install.sh $(BUILD)

# The minimal library (-DCK_MINIMAL=ON: no file formats, no libzip or zlib),
# built on its own and checked by its smoke program and the symbol test.
minimal:
	@test -f $(MIN_BUILD)/CMakeCache.txt || cmake -S . -B $(MIN_BUILD) -DCMAKE_BUILD_TYPE=Release -DCK_MINIMAL=ON
	cmake --build $(MIN_BUILD) -j $(JOBS)
	cd $(MIN_BUILD) && ctest --output-on-failure

demo: deps all
	sh tools/demo.sh $(BUILD)

bench: all
	./$(BUILD)/bench/bench_batch_dot
	./$(BUILD)/bench/bench_dense
	./$(BUILD)/bench/bench_train
	./$(BUILD)/bench/bench_conv
	./$(BUILD)/bench/bench_infer

# libFuzzer harnesses (tests/fuzz/), FUZZ_SECONDS each; clang + libclang-rt-14-dev.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tools/fuzz.sh build-fuzz

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(TSAN_BUILD) $(MIN_BUILD)
