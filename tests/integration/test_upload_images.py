"""The image upload page and the scoring API: content checks, storage, ownership, retention, scored faces."""

from __future__ import annotations

import io
import re
import shutil
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from core import db
from core.models import ApiToken, ImageScore, ImageUpload
from ml.data.faces import compose_classroom, encode, generate_faces
from ml.engagement.uploads import file_path, images_dir, retention_days
from tests.conftest import csrf_token
from tests.unit.engagement.served_model import register_production


@pytest.fixture
def folder(app):
    path = images_dir(app.config["SETTINGS"])
    shutil.rmtree(path, ignore_errors=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def production(app):
    return register_production()


def classroom_jpeg(seed: int = 1) -> bytes:
    return encode(compose_classroom(3, width=640, height=360, face_size=(60, 80), seed=seed).image, "JPEG")


def face_png(seed: int = 0) -> bytes:
    return encode(generate_faces(1, sessions=1, frames_per_class=1, seed=seed)[0].image, "PNG")


def upload(client, *files: tuple[str, bytes]):
    data = {"csrf_token": csrf_token(client, "/upload/"), "files": [(io.BytesIO(b), name) for name, b in files]}
    return client.post("/upload/", data=data, content_type="multipart/form-data")


def stored_files(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_faculty_uploads_several_images_and_sees_each_face_scored(signed_in, production, folder):
    faculty = signed_in("faculty")

    page = upload(faculty, ("class.jpg", classroom_jpeg()), ("face.png", face_png()))

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="card mb-3 upload-result"') == 2
    assert f"engagement model v{production.version}" in html
    assert "generated faces" in html  # the page says what the model learned from
    scores = db.session.scalars(select(ImageScore).order_by(ImageScore.id)).all()
    assert [s.upload.filename for s in scores] == ["class.jpg", "face.png"]
    for score in scores:
        assert score.model_version_id == production.id and score.summary["faces"] == len(score.faces) >= 1
        for face in score.faces:
            assert set(face["box"]) == {"x", "y", "width", "height"} and 0.0 <= face["probability"] <= 1.0
            assert face["label"] in ("engaged", "not engaged")
        # every face is drawn on the image, boxed where it was found
        assert html.count(f'href="/upload/{score.upload_id}/image"') == 1
    assert html.count('class="face-box"') == sum(len(s.faces) for s in scores)
    assert len(stored_files(folder)) == 2


def test_a_refused_file_is_named_with_the_reason_and_nothing_of_it_is_stored(signed_in, production, folder):
    faculty = signed_in("faculty")
    jpeg = classroom_jpeg()

    page = upload(faculty, ("notes.jpg", b"these are lecture notes, not a photo"), ("cut.jpg", jpeg[: len(jpeg) // 2]))

    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("upload-refused") == 2
    assert "notes.jpg</strong>: This file is not a JPEG, PNG or WebP image" in html
    assert "cut.jpg</strong>: The image is damaged or incomplete" in html and "Nothing was stored." in html
    assert count(ImageUpload) == 0 and count(ImageScore) == 0
    assert stored_files(folder) == []


def test_an_oversized_or_bomb_image_is_refused_before_decoding(signed_in, production, folder):
    faculty = signed_in("faculty")
    bomb = io.BytesIO()
    Image.new("L", (10_000, 5_000)).save(bomb, format="PNG")  # 50 MP of zeros compress to a few kB

    page = upload(faculty, ("bomb.png", bomb.getvalue()))

    assert "bomb.png</strong>: The image is 10000×5000 pixels" in page.get_data(as_text=True)
    assert count(ImageUpload) == 0 and stored_files(folder) == []


def test_a_duplicate_reuses_the_stored_copy(signed_in, users, production, folder):
    faculty, other = signed_in("faculty"), signed_in("admin")
    image = classroom_jpeg()

    upload(faculty, ("monday.jpg", image))
    upload(faculty, ("monday-again.jpg", image))
    upload(other, ("same.jpg", image))

    uploads = db.session.scalars(select(ImageUpload).order_by(ImageUpload.id)).all()
    assert [u.user_id for u in uploads] == [users["faculty"].id, users["admin"].id]  # one row per user and content
    assert len({u.sha256 for u in uploads}) == 1 and len(stored_files(folder)) == 1  # one file for both
    assert count(ImageScore) == 2  # the repeat upload reused its score

    faculty.post(f"/upload/{uploads[0].id}/delete", data={"csrf_token": csrf_token(faculty, "/upload/")})
    assert len(stored_files(folder)) == 1  # still the admin's
    other.post(f"/upload/{uploads[1].id}/delete", data={"csrf_token": csrf_token(other, "/upload/")})
    assert count(ImageUpload) == 0 and count(ImageScore) == 0 and stored_files(folder) == []


def test_exif_orientation_is_applied_and_metadata_stripped_before_storing(signed_in, production, folder):
    faculty = signed_in("faculty")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F], exif[0x0110], exif[0x0131] = "PhoneMaker", "Model X", "camera-app 1.0"
    original = io.BytesIO()
    Image.fromarray(compose_classroom(2, width=480, height=240, face_size=(40, 50), seed=2).image).save(
        original, "JPEG", exif=exif
    )

    upload(faculty, ("phone.jpg", original.getvalue()))

    stored = db.session.scalars(select(ImageUpload)).one()
    data = file_path(folder, stored.sha256, stored.format).read_bytes()
    assert b"PhoneMaker" not in data and b"Exif" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (240, 480) == (stored.width, stored.height)  # turned upright
        assert not image.getexif() and "icc_profile" not in image.info


def test_another_faculty_user_gets_404_and_an_admin_may_open(app, signed_in, production, folder):
    from core.models import User
    from tests.conftest import PASSWORD, sign_in

    owner = signed_in("faculty")
    upload(owner, ("mine.jpg", classroom_jpeg()))
    mine = db.session.scalars(select(ImageUpload)).one()
    User.create("colleague@test.example", "faculty", PASSWORD)
    db.session.commit()
    colleague = app.test_client()
    sign_in(colleague, "colleague@test.example")

    for path in (f"/upload/{mine.id}", f"/upload/{mine.id}/image"):
        assert owner.get(path).status_code == 200
        assert colleague.get(path).status_code == 404
        assert signed_in("admin").get(path).status_code == 200
    token = csrf_token(colleague, "/upload/")
    assert colleague.post(f"/upload/{mine.id}/delete", data={"csrf_token": token}).status_code == 404
    assert "mine.jpg" not in colleague.get("/upload/").get_data(as_text=True)  # not in their history
    assert "mine.jpg" in owner.get("/upload/").get_data(as_text=True)
    assert count(ImageUpload) == 1


def test_other_roles_cannot_upload(signed_in, production):
    facilities = signed_in("facilities")

    assert facilities.get("/upload/").status_code == 403
    assert facilities.post("/api/v1/engagement/score", headers={"X-CSRFToken": "x"}).status_code in (400, 403)


def test_expired_uploads_are_deleted_on_access(signed_in, production, folder):
    faculty = signed_in("faculty")
    upload(faculty, ("old.jpg", classroom_jpeg()))
    old = db.session.scalars(select(ImageUpload)).one()
    assert old.expires_at - old.created_at == timedelta(days=retention_days())
    old.expires_at = db.utcnow() - timedelta(minutes=1)
    db.session.commit()

    assert "old.jpg" not in faculty.get("/upload/").get_data(as_text=True)  # history hides it
    assert faculty.get(f"/upload/{old.id}").status_code == 404  # opening deletes it
    assert count(ImageUpload) == 0 and count(ImageScore) == 0 and stored_files(folder) == []


def test_the_purge_command_deletes_every_expired_upload(app, signed_in, production, folder):
    faculty = signed_in("faculty")
    upload(faculty, ("a.jpg", classroom_jpeg(1)), ("b.jpg", classroom_jpeg(2)))
    first = db.session.scalars(select(ImageUpload).order_by(ImageUpload.id)).first()
    first.expires_at = db.utcnow() - timedelta(days=1)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["engagement", "purge-uploads"])

    assert result.exit_code == 0 and "1 expired uploads deleted" in result.output
    assert [u.filename for u in db.session.scalars(select(ImageUpload))] == ["b.jpg"]
    assert len(stored_files(folder)) == 1


def test_a_new_production_version_rescores_on_request(signed_in, production, folder):
    faculty = signed_in("faculty")
    upload(faculty, ("class.jpg", classroom_jpeg()))
    stored = db.session.scalars(select(ImageUpload)).one()
    newer = register_production()

    page = faculty.get(f"/upload/{stored.id}").get_data(as_text=True)
    assert f"Score with the current model (v{newer.version})" in page
    faculty.post(f"/upload/{stored.id}/rescore", data={"csrf_token": csrf_token(faculty, "/upload/")})

    db.session.expire_all()
    assert [s.model_version for s in db.session.get(ImageUpload, stored.id).scores] == [1, 2]
    assert f"engagement model v{newer.version}" in faculty.get(f"/upload/{stored.id}").get_data(as_text=True)


def test_without_a_production_model_the_page_says_so(signed_in):
    page = signed_in("faculty").get("/upload/").get_data(as_text=True)

    assert "No engagement model is in production yet" in page and 'id="upload-form"' not in page


def test_the_page_loads_its_script_from_static_only(signed_in, production):
    response = signed_in("faculty").get("/upload/")
    html = response.get_data(as_text=True)

    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/js/one_click.js">',
        '<script src="/static/js/upload.js">',
    ]
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers under the CSP
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def bearer(user) -> dict:
    _, plain = ApiToken.issue(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_the_api_scores_an_image_and_keeps_nothing(client, users, production, folder):
    response = client.post(
        "/api/v1/engagement/score",
        data={"file": (io.BytesIO(classroom_jpeg()), "class.jpg")},
        headers=bearer(users["faculty"]),
        content_type="multipart/form-data",
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["model_version"] == production.version and body["width"] == 640 and body["height"] == 360
    assert body["summary"]["faces"] == len(body["faces"]) >= 1
    for face in body["faces"]:
        assert set(face["box"]) == {"x", "y", "width", "height"}
        assert 0.0 <= face["probability"] <= 1.0 and face["label"] in ("engaged", "not engaged")
    assert body["trained_on"] == {"generated faces": production.data_summary["rows"]}
    assert count(ImageUpload) == 0 and stored_files(folder) == []


def test_the_api_refuses_a_non_image_with_a_message(client, users, production):
    headers = bearer(users["faculty"])

    def post(data):
        return client.post("/api/v1/engagement/score", data=data, headers=headers, content_type="multipart/form-data")

    refused = post({"file": (io.BytesIO(b"%PDF-1.7 not an image"), "scan.png")})
    assert refused.status_code == 415
    assert refused.get_json() == {
        "error": "This file is not a JPEG, PNG or WebP image (its content was checked, not its name).",
        "reason": "not_image",
    }
    assert post({}).status_code == 400 and "multipart field `file`" in post({}).get_json()["error"]
    empty = post({"file": (io.BytesIO(b""), "empty.jpg")})
    assert empty.status_code == 400 and empty.get_json()["reason"] == "empty"


def test_the_api_says_when_no_model_is_in_production(client, users):
    response = client.post(
        "/api/v1/engagement/score",
        data={"file": (io.BytesIO(face_png()), "face.png")},
        headers=bearer(users["faculty"]),
        content_type="multipart/form-data",
    )

    assert response.status_code == 503 and "no engagement model is in production" in response.get_json()["error"]


def test_the_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    assert paths["/api/v1/engagement/score"]["post"]["summary"].startswith("Engagement of the faces in one image")
