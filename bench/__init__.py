"""Benchmarks. Each module ``bench/bench_<name>.py`` has ``run() -> dict``:
it prints each figure beside a baseline measured in the same run and returns
them; ``python -m bench [NAME ...]`` runs them and writes
``bench/results/<name>.json``. Every printed figure is measured in that run
(a percentile only where there are enough samples for it; otherwise the
median and the maximum, named so); a goal or a cited figure says so."""
