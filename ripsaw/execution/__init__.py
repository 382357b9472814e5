"""Running an eval: the runner (runner.py), the executor seam it schedules attempts through (executor.py), the
results store it appends to (store.py), and the load sweep (sweep.py)."""
