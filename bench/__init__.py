"""Benchmarks. Each module ``bench/bench_<name>.py`` has ``run() -> dict``:
it prints each figure beside a baseline measured in the same run and returns
them; ``python -m bench [NAME ...]`` runs them and writes
``bench/results/<name>.json``."""
