# Thin wrapper around CMake/CTest. Every target installs missing Debian packages first.
BUILD    ?= build
SANBUILD ?= build-sanitize
JOBS     ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test demo bench package fuzz soak config-reference format clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The whole suite, built with AddressSanitizer + UndefinedBehaviorSanitizer. Tests
# run JOBS at a time, but those that use namespaces, time the forwarder or build a
# package run alone (RUN_SERIAL).
test: deps
	@cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Debug -DJULIER_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(SANBUILD) -j $(JOBS)
	@# ctest hides a passing test's output: repeat the fleet test's survival count.
	@cd $(SANBUILD) && { ctest --output-on-failure --timeout 600 -j $(JOBS) $(CTEST_ARGS); rc=$$?; \
	  grep -h '^box loss:' Testing/Temporary/LastTest.log 2>/dev/null; exit $$rc; }

# Builds only what the demo runs: julierd (with the forwarder), julierctl and the
# XDP_PASS program the demo's namespaces need; no tests, benchmarks or tools.
DEMO_TARGETS = julierd julierctl julier_e2e_objects

demo: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target $(DEMO_TARGETS)
	@scripts/demo $(if $(KEEP),--keep)

bench: build
	@scripts/bench $(if $(QUICK),--quick)

# Long fuzzing runs (the short runs are part of `make test`). FUZZ_SECONDS per fuzzer.
fuzz: deps
	@cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Debug -DJULIER_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(SANBUILD) -j $(JOBS)
	@BUILD=$(SANBUILD) scripts/fuzz $(FUZZ_SECONDS)

# Rewrites the field reference of config/README.md from the schema table.
config-reference: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) --target config-reference

# The e2e tests again and again (not in `make test`): each SOAK_RUNS times in a row,
# stopping at the first failure.
SOAK_RUNS ?= 20
soak: deps
	@cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Debug -DJULIER_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(SANBUILD) -j $(JOBS)
	@cd $(SANBUILD) && ctest -L e2e --repeat until-fail:$(SOAK_RUNS) --output-on-failure

# Debian package of the release build: build/julier_<version>_<arch>.deb
package: build
	@cd $(BUILD) && cpack -G DEB

# Formats every tracked C, C++ and BPF C file (.clang-format; the `format` test checks it).
format: deps
	@scripts/format

clean:
	rm -rf $(BUILD) $(SANBUILD)
