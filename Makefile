# The two commands of the README:
#   make demo   encrypted MNIST prediction with the shipped model (all 10,000 test images)
#   make test   every test: Go, C (ctest) and Python (pytest)
#   make fuzz   every Go fuzz target for FUZZTIME each (default 1m; scripts/fuzz.sh)
GO      ?= go
BUILD   ?= build
CLI     := $(BUILD)/bin/cryptonets
MODEL   := models/mnist/mnist_cryptonets.cnm
DEMO_ARGS ?=
FUZZTIME ?= 1m

.PHONY: all setup setup-test cli demo bench test test-go test-c test-python lint fuzz clean

all: cli

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --test

cli: setup
	$(GO) build -o $(CLI) ./cmd/cryptonets

demo: cli
	$(CLI) demo --model $(MODEL) $(DEMO_ARGS)

bench: cli
	$(CLI) bench --model $(MODEL)

test: setup-test lint test-go test-c test-python

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

test-go:
	$(GO) test -timeout 30m ./...

# The C tests run twice: as built for users, and under AddressSanitizer.
test-c:
	cmake -S . -B $(BUILD)/c -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCN_TESTING=ON >/dev/null
	cmake --build $(BUILD)/c -j2
	ctest --test-dir $(BUILD)/c --output-on-failure
	cmake -S . -B $(BUILD)/c-asan -DCMAKE_BUILD_TYPE=Debug -DCN_SANITIZE=ON -DCN_TESTING=ON >/dev/null
	cmake --build $(BUILD)/c-asan -j2
	ctest --test-dir $(BUILD)/c-asan --output-on-failure

test-python:
	bash bindings/python/run_tests.sh

# Each fuzz target in turn for FUZZTIME (go test alone replays their corpora).
fuzz: setup
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

clean:
	rm -rf $(BUILD)
