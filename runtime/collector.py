"""Python's cyclic garbage collector, tuned for a process that streams.

The worker allocates a few dozen container objects per evaluation (parsed messages, Faust
events, window entries, records for Kafka) and frees almost all of them by reference counting
within its batch. With CPython's default thresholds (700, 10, 10) the collector still ran every
700 allocations, and every tenth and hundredth run walked the older generations: the tables'
state, Faust's and aiokafka's objects, every loaded module. That was a quarter of the worker's
CPU (docs/benchmarks.md, issue 14: 0.242 → 0.184 s per 1,000 evaluations with these settings).

Cycles are still collected, only in larger steps: memory they hold is bounded by what 50,000
allocations leave behind between two young collections.
"""

from __future__ import annotations

import gc

# young generation: collected after this many allocations net of frees (default 700)
YOUNG_THRESHOLD = 50_000
# a middle collection every 20 young ones, an old one every 100 middle ones (defaults 10, 10)
MIDDLE_EVERY = 20
OLD_EVERY = 100


def tune_collector() -> None:
    """Freeze what exists now (modules, settings, the app's wiring) out of the collector's
    sight, and collect in larger steps from here on. Call once, when the process has loaded
    what it needs and before it starts streaming."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_EVERY, OLD_EVERY)
