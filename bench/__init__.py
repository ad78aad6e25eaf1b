"""Benchmarks: `make bench` (all areas) or `make bench AREA=data SCALE=1000000` (one area).

Each area is a module `bench/<area>.py` with `run(scale: int | None) -> None` that prints its
figures next to a baseline measured in the same run. Benchmarks print; they never assert on time.
"""
