# Thin wrapper over CMake: the two quick-start commands and the sanitizer runs.
BUILD ?= build
JOBS  ?= 2

.PHONY: all deps build test test-plain demo test-asan test-tsan clean

all: build

deps:
	@bash .ci/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Every test, three times: the normal build, then AddressSanitizer+UBSan,
# then ThreadSanitizer (each in its own build dir). About 5 minutes here.
test: test-plain test-asan test-tsan
	@echo "ferry: all tests passed (plain, ASan+UBSan, TSan)"

test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

demo: build
	./$(BUILD)/ferry demo

test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFERRY_ASAN=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-asan --output-on-failure -j$(JOBS)

test-tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DFERRY_TSAN=ON >/dev/null
	@cmake --build build-tsan -j$(JOBS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir build-tsan --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD) build-asan build-tsan
