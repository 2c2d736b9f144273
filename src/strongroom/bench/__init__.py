"""Benchmarks (`strongroom bench`): performance is measured here, as ratios taken in the same run, never
asserted in tests. Needs the ``local`` extra; the CLI imports this package only for `strongroom bench`."""
