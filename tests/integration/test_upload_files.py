"""Files kept between upload steps belong to the user who uploaded them."""

from __future__ import annotations

import pytest

from webapp.uploads import files


def test_a_user_reads_back_their_own_upload(app):
    with app.app_context():
        token = files.save("imports", 7, "../../etc/passwd", b"a;b\n1;2\n")
        filename, data = files.load("imports", 7, token)
    assert data == b"a;b\n1;2\n" and "/" not in filename


def test_another_users_token_is_refused(app):
    with app.app_context():
        token = files.save("imports", 7, "records.csv", b"x")
        with pytest.raises(files.UploadError, match="not yours"):
            files.load("imports", 8, token)
        with pytest.raises(files.UploadError):
            files.load("imports", 7, "7-" + "0" * 24)


def test_damaged_upload_is_reported(app):
    with pytest.raises(files.UploadError, match="damaged"):
        files.decode_dash_upload("data:text/csv;base64,%%%")
