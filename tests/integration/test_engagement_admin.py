"""Admin: a labelled zip read by a job (traversal and bomb entries refused in the report), the class mapping, the
training settings, retraining engagement through the queue and the lifecycle, and a version's figures page."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from sqlalchemy import event, func, select

from core import db
from core.models import JobRun, LabelledDataset, ModelVersion
from ml import registry
from ml.data.faces import encode, generate_faces, write_labelled_zip
from ml.engagement.datasets import ARCHIVE_FILE, FACES_FILE, dataset_folder, save_training_settings
from tests.conftest import csrf_token
from tests.integration.jobs_for_tests import run_queued_jobs


@pytest.fixture(scope="module")
def public_layout_zip() -> bytes:
    """The public set's layout (Engaged/confused/...) plus entries an import must refuse."""
    archive = io.BytesIO(write_labelled_zip(generate_faces(4, sessions=1, frames_per_class=1, seed=7)))
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("../../escape.png", b"x")
        bundle.writestr("/etc/cron.d/evil.png", b"x")
        bundle.writestr("Engaged/engaged/bomb.png", b"\0" * 5_000_000)  # a thousandfold compression: a bomb
        bundle.writestr("Engaged/engaged/notes.png", b"not an image at all")
        link = zipfile.ZipInfo("Engaged/engaged/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(link, "/etc/passwd")
    return archive.getvalue()


def people_zip(subjects: int = 10) -> bytes:
    """Two classes, one folder per person (`attentive/person-03/...`), so held-out people are whole."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for face in generate_faces(subjects, sessions=1, frames_per_class=2, seed=11):
            label = "attentive" if face.engaged else "sleepy"
            bundle.writestr(f"{label}/person-{face.subject_id:02d}/{face.file_name}", encode(face.image, "PNG"))
    return buffer.getvalue()


def upload_zip(admin, data: bytes, name: str = "Lecture hall", layout: str = "auto"):
    form = {
        "csrf_token": csrf_token(admin, "/admin/engagement/"),
        "name": name,
        "layout": layout,
        "archive": (io.BytesIO(data), "faces.zip"),
    }
    return admin.post("/admin/engagement/datasets", data=form, content_type="multipart/form-data")


def imported(admin, data: bytes, **options) -> LabelledDataset:
    assert upload_zip(admin, data, **options).status_code == 302
    dataset = db.session.scalars(select(LabelledDataset).order_by(LabelledDataset.id.desc())).first()
    assert dataset.status == "queued" and dataset.job_run_id
    dataset_id = dataset.id
    run_queued_jobs()  # in this process and thread: the job ends by removing the session
    return db.session.get(LabelledDataset, dataset_id)


def test_a_labelled_zip_is_read_by_a_job_and_unsafe_entries_are_refused(signed_in, public_layout_zip):
    admin = signed_in("admin")

    dataset = imported(admin, public_layout_zip)

    run = db.session.get(JobRun, dataset.job_run_id)
    assert run.status == "succeeded" and run.queue == "training", run.error
    assert dataset.status == "ready"  # every class name says engaged or not: the suggestion maps them all
    assert dataset.faces == 24 and dataset.classes == {label: 4 for label in dataset.classes}
    assert dataset.mapping["Not engaged/drowsy"] is False and dataset.mapping["Engaged/confused"] is True
    reasons = {item["path"]: item["reason"] for item in dataset.report["refused"]}
    assert reasons == {
        "../../escape.png": "unsafe_path",
        "/etc/cron.d/evil.png": "unsafe_path",
        "Engaged/engaged/bomb.png": "ratio",
        "Engaged/engaged/notes.png": "not_image",
        "Engaged/engaged/link.png": "link",
    }
    folder = dataset_folder(dataset)
    assert (folder / ARCHIVE_FILE).is_file() and (folder / FACES_FILE).is_file()
    assert not any(p.name in ("escape.png", "evil.png") for p in folder.parent.parent.rglob("*"))  # never extracted
    page = admin.get("/admin/engagement/").get_data(as_text=True)
    assert "<strong>24</strong> images accepted" in page and "<strong>5</strong> refused" in page
    assert "unsafe path: 2" in page and "ratio: 1" in page and "../../escape.png" in page


def test_a_file_that_is_not_a_zip_is_refused_with_the_reason(signed_in):
    dataset = imported(signed_in("admin"), b"PK\x03\x04 but not really a zip")

    assert dataset.status == "refused" and dataset.message == "the file is not a readable zip archive"
    assert db.session.get(JobRun, dataset.job_run_id).status == "succeeded"  # the report is the job's result


def test_the_admin_maps_classes_the_names_do_not_settle(signed_in):
    admin = signed_in("admin")
    dataset = imported(admin, people_zip(6), layout="class")
    assert dataset.status == "needs_mapping" and dataset.mapping == {"attentive": True, "sleepy": None}
    page = admin.get("/admin/engagement/").get_data(as_text=True)
    assert 'name="class-1" value="not_engaged"' in page

    form = {"csrf_token": csrf_token(admin, "/admin/engagement/"), "action": "map", "class-0": "engaged"}
    admin.post(f"/admin/engagement/datasets/{dataset.id}", data=form | {"class-1": "engaged"})
    db.session.expire_all()
    assert db.session.get(LabelledDataset, dataset.id).status == "needs_mapping"  # both sides are needed

    admin.post(f"/admin/engagement/datasets/{dataset.id}", data=form | {"class-1": "not_engaged", "included": "on"})
    db.session.expire_all()
    mapped = db.session.get(LabelledDataset, dataset.id)
    assert mapped.status == "ready" and mapped.included and mapped.mapping == {"attentive": True, "sleepy": False}
    assert LabelledDataset.for_training() == [mapped]

    admin.post(f"/admin/engagement/datasets/{dataset.id}", data={"csrf_token": form["csrf_token"], "action": "delete"})
    assert LabelledDataset.all() == [] and not dataset_folder(mapped).exists()


def test_the_time_budget_is_an_admin_setting_within_bounds(signed_in):
    from ml.engagement.datasets import training_settings

    admin = signed_in("admin")
    token = csrf_token(admin, "/admin/engagement/")

    admin.post("/admin/engagement/settings", data={"csrf_token": token, "time_budget_min": "2.5"})
    assert training_settings().time_budget_s == 150 and training_settings().include_generated is False
    response = admin.post("/admin/engagement/settings", data={"csrf_token": token, "time_budget_min": "9999"})
    assert response.status_code == 302 and training_settings().time_budget_s == 150
    assert "Not saved: the time budget must be between" in admin.get("/admin/engagement/").get_data(as_text=True)


def test_only_admins_open_the_engagement_admin(signed_in):
    assert signed_in("faculty").get("/admin/engagement/").status_code == 403
    assert signed_in("admin").get("/admin/engagement/").status_code == 200


def test_the_engagement_pages_retrain_button_queues_one_job_and_refuses_a_second(signed_in):
    admin = signed_in("admin")
    form = {"csrf_token": csrf_token(admin, "/admin/engagement/")}
    first = admin.post("/admin/engagement/retrain", data=form, follow_redirects=True).get_data(as_text=True)
    run = db.session.scalars(select(JobRun).where(JobRun.kind == "retrain engagement")).one()
    assert f"Queued retrain engagement (job {run.id}); follow it below." in first
    second = admin.post("/admin/engagement/retrain", data=form, follow_redirects=True).get_data(as_text=True)
    assert f"Not queued: retrain engagement is already queued (job {run.id}). Wait for it to finish." in second
    assert db.session.scalar(select(func.count()).select_from(JobRun).where(JobRun.kind == "retrain engagement")) == 1


def test_retraining_engagement_from_the_jobs_page_trains_within_the_budget_and_serves_it(signed_in):
    admin = signed_in("admin")
    dataset = imported(admin, people_zip(10), layout="class")
    token = csrf_token(admin, "/admin/engagement/")
    admin.post(
        f"/admin/engagement/datasets/{dataset.id}",
        data={"csrf_token": token, "action": "map", "class-0": "engaged", "class-1": "not_engaged", "included": "on"},
    )
    save_training_settings(10, include_generated=False, updated_by="test")
    messages: list[str] = []

    def progress_seen(_mapper, _connection, run):
        messages.append(run.message)

    admin.post("/admin/jobs/retrain", data={"task": "engagement", "csrf_token": csrf_token(admin, "/admin/jobs")})
    event.listen(JobRun, "after_update", progress_seen)
    try:
        run_queued_jobs()
    finally:
        event.remove(JobRun, "after_update", progress_seen)

    run = db.session.scalars(select(JobRun).where(JobRun.kind == "retrain engagement")).one()
    assert run.status == "succeeded", run.error
    assert run.result["promoted"] is True and run.result["version"] == 1
    assert any(m.startswith("epoch 1/30, accuracy ") and "left" in m for m in messages)  # live progress
    version = ModelVersion.production("engagement")
    assert version.params["time_budget_s"] == 10 and version.params["classes"] == ["attentive", "sleepy"]
    assert version.data_summary["sources"] == {"Lecture hall": 120} and version.data_summary["fit_seconds"] < 25
    assert version.metrics["detail"]["gate"]["metric"] == "f1" and "beats_baseline" in version.metrics
    assert registry.load_production("engagement").model.classes == ["attentive", "sleepy"]  # ONNX, in this process

    page = admin.get(f"/admin/engagement/models/{version.id}").get_data(as_text=True)
    for part in ('id="per-class"', 'id="confusion"', 'id="gate"', "Loss per epoch", "always the most common class"):
        assert part in page
    statement = signed_in("faculty").get("/upload/").get_data(as_text=True)
    assert "learned from 120 labelled faces imported by an administrator (Lecture hall)" in statement


def test_the_cli_imports_a_zip_and_maps_the_classes_it_is_told(app, tmp_path):
    path = tmp_path / "faces.zip"
    path.write_bytes(people_zip(6))
    command = ["engagement", "import", str(path), "--name", "Seminar room", "--layout", "class"]

    unmapped = app.test_cli_runner().invoke(args=command)
    mapped = app.test_cli_runner().invoke(args=[*command, "--not-engaged", "sleepy"])

    assert unmapped.exit_code == 1 and "sleepy" in unmapped.output and "UNMAPPED" in unmapped.output
    assert mapped.exit_code == 0, mapped.output
    assert "72 images accepted, 0 refused; status ready" in mapped.output
    latest = LabelledDataset.all()[0]
    assert latest.name == "Seminar room" and latest.mapping == {"attentive": True, "sleepy": False}
