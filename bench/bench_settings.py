"""Settings for benchmarks: kefu's own, plus a bare one-INSERT view to measure the ceiling."""

from kefu.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
