# Thin wrapper over CMake.  `make test` and `make demo` install any missing
# Debian packages first, so they work on a fresh machine.
BUILD      ?= build
SAN_BUILD  ?= build-sanitize
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps configure test test-fast test-sanitize test-install demo bench install clean fuzz

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
	$(MAKE) test-install

test-fast: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-sanitize:
	@test -f $(SAN_BUILD)/CMakeCache.txt || cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCK_SANITIZE=ON
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ctest --output-on-failure -j $(JOBS)

test-install: all
	sh tests/install/check_install.sh $(BUILD)

demo: deps all
	sh tools/demo.sh $(BUILD)

bench: all
	./$(BUILD)/bench/bench_batch_dot
	./$(BUILD)/bench/bench_dense
	./$(BUILD)/bench/bench_train

# libFuzzer harnesses (tests/fuzz/), FUZZ_SECONDS each; clang + libclang-rt-14-dev.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tools/fuzz.sh build-fuzz

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
