# The two commands of the README, plus the benchmarks. Each installs what it
# needs first (scripts/setup.sh, pinned and idempotent).
.PHONY: dev test bench setup build

dev:    ## the demo at http://127.0.0.1:8787 (redis-server + upstash-local + wrangler dev)
	./scripts/dev.sh

test:   ## every test: cargo test, end-to-end in workerd, Express compatibility, Chromium
	./scripts/test.sh

bench:  ## benchmarks; results go to docs/BENCHMARKS.md by hand
	./scripts/bench.sh

setup:  ## only the installs
	./scripts/setup.sh

build:  ## only the builds
	./scripts/build.sh
