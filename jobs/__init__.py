"""Background work on RQ: thin entry points that call `ml/` and record progress in `job_runs`."""
