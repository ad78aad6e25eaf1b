"""Chaos: faults in the middle of real work (issue 18 §1), `make chaos [SCALE=n]`.

`stack` starts the harness's own servers and Celery processes, `prepare` loads its data,
`faults` injects, `checks` compares, `harness` runs the rounds; `python -m bench.chaos --help`.
"""
