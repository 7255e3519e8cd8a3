# The two commands of the README, plus the benchmarks and the long run of
# the property tests. Each installs what it needs first (scripts/setup.sh,
# pinned and idempotent); fuzz needs only cargo.
.PHONY: dev test bench fuzz setup build

dev:    ## the demo at http://127.0.0.1:8787 (redis-server + upstash-local + wrangler dev)
	./scripts/dev.sh

test:   ## every test: cargo test, end-to-end in workerd, Express compatibility, Chromium
	./scripts/test.sh

bench:  ## benchmarks; results go to docs/BENCHMARKS.md by hand
	./scripts/bench.sh

fuzz:   ## the long run of the property tests (PROPTEST_CASES, default 100000 a property)
	./scripts/fuzz.sh

setup:  ## only the installs
	./scripts/setup.sh

build:  ## only the builds
	./scripts/build.sh
