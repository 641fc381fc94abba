"""RQ entry point of the engagement capability: reading an imported labelled zip of faces.

Reading a zip detects and crops every face in it (tens of milliseconds an image on 2 cores), so it runs on the
training queue, beside retraining, never in a web request. Retraining itself is the shared `jobs.tasks.retrain`.
"""

from __future__ import annotations

from core import db
from core.models import JobRun, LabelledDataset
from jobs import queue
from jobs.tasks import Progress, tracked

IMPORT_TIMEOUT_S = 2 * queue.HOUR


def enqueue_dataset_import(dataset: LabelledDataset, requested_by: str) -> JobRun:
    """Queue reading and validating the dataset's zip; the dataset remembers the run (raises
    `queue.QueueUnavailableError` when Redis is down)."""
    run = queue.enqueue(
        f"import labelled faces {dataset.name}"[:60],
        import_dataset,
        dataset.id,
        queue="training",
        requested_by=requested_by,
        timeout=IMPORT_TIMEOUT_S,
        params={"dataset": dataset.id},
        lock=f"engagement-dataset:{dataset.id}",
    )
    dataset.job_run_id = run.id
    db.session.commit()
    return run


def import_dataset(run_id: int, dataset_id: int) -> dict:
    """Read the dataset's zip: keep its face crops, classes, suggested mapping and import report."""

    def work(progress: Progress) -> dict:
        from ml.engagement.datasets import read_dataset

        dataset = db.session.get(LabelledDataset, dataset_id)
        if dataset is None:
            raise LookupError(f"labelled dataset {dataset_id} does not exist (deleted?)")
        progress(2, f"reading {dataset.filename or dataset.name}")
        return read_dataset(dataset, progress)

    return tracked(run_id, work)
