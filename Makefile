# Rampart: the two commands of the quickstart, plus the ones developers use.
#   make demo   installs what is missing, builds, and runs the live failover drill
#   make test   installs what is missing, builds, and runs every test (ctest)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
# libFuzzer harnesses (fuzz/): `make fuzz` runs each for FUZZ_TIME seconds, or FUZZ_RUNS times.
FUZZERS ?= etcd_codec config_yaml pg_startup_gate values http_server api_body api_protobuf redis_resp
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
# ccache: paths relative to the checkout and no working directory in the hash, so a clean clone
# elsewhere (CI) or a second work tree reuses the cache.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1
export CCACHE_MAXSIZE ?= 5G

.PHONY: all setup build test test-unit test-asan fuzz demo bench bench-failover bench-cluster format clean

all: build

setup:
	@scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 300 -j $(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j $(JOBS)

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (pure logic and the in-memory
# store; the integration tests run in the normal build).
test-asan: setup
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRAMPART_SANITIZE=ON -DRAMPART_UNIT_TESTS_ONLY=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -L unit -j $(JOBS)

# Parsers of outside input under libFuzzer with ASan + UBSan (clang; its own build directory).
$(FUZZ_BUILD)/build.ninja:
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRAMPART_FUZZ=ON \
	  -DCMAKE_CXX_COMPILER=clang++-14

fuzz: setup $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZERS)

# The cluster drill makes network namespaces and cgroups: root (sudo when not root). Only the
# binary is built (not the tests), so a fresh machine gets to the drill sooner.
demo: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target rampart
	@if [ "$$(id -u)" -eq 0 ]; then $(BUILD)/src/rampart demo; else sudo $(BUILD)/src/rampart demo; fi

bench: build
	@scripts/setup-bench.sh
	$(BUILD)/bench/election_bench --rounds 20
	bench/lb_bench.sh 3 5
	bench/lb_kernel_bench.sh 3 5

# PostgreSQL failover against Patroni, same faults, same run, alternating (long: ~1 h for 5 rounds).
bench-failover: build
	@scripts/setup-bench.sh
	bench/failover/run.sh 5

# A master's SIGKILL / freeze / partition through the API VIP, with HAProxy (as lvscare) and
# keepalived in the same run (root; ~15 min for 10 rounds per fault and front).
bench-cluster: build
	@scripts/setup-bench.sh
	$(BUILD)/bench/cluster_failover --rounds 10

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
