"""A zip is only read after every member passed the safety checks."""

from __future__ import annotations

import stat
import zipfile

import pytest

from ml.census.errors import UnsafeArchiveError
from ml.census.zipfile_safe import ArchiveLimits, open_archive


def make_zip(path, members: dict[str, bytes], **infos) -> object:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(infos.get(name) or name, data)
    return path


@pytest.mark.parametrize(
    "name",
    ["../../etc/cron.d/evil", "dados/../../evil.csv", "/etc/passwd", "C:\\Windows\\evil.dll", "dados\\..\\..\\evil"],
)
def test_member_escaping_the_folder_is_refused(tmp_path, name):
    path = make_zip(tmp_path / "x.zip", {"ok/dados/a.csv": b"a;b\r\n", name: b"x"})
    with pytest.raises(UnsafeArchiveError, match="refused zip member"):
        open_archive(path, year=2023)


def test_symbolic_link_is_refused(tmp_path):
    link = zipfile.ZipInfo("root/dados/microdados_ed_basica_2023.csv")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = make_zip(tmp_path / "x.zip", {link.filename: b"/etc/passwd"}, **{link.filename: link})
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        open_archive(path)


def test_zip_bomb_is_refused(tmp_path):
    path = make_zip(tmp_path / "x.zip", {"root/dados/big.csv": b"0" * (8 << 20)})
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        open_archive(path, ArchiveLimits(max_ratio=100))


def test_limits_on_members_and_total_size(tmp_path):
    many = make_zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(12)})
    with pytest.raises(UnsafeArchiveError, match="12 members"):
        open_archive(many, ArchiveLimits(max_members=10))
    large = make_zip(tmp_path / "large.zip", {"a.bin": bytes(range(256)) * 4096, "b.bin": bytes(range(256)) * 4096})
    with pytest.raises(UnsafeArchiveError, match="inflates to more than"):
        open_archive(large, ArchiveLimits(max_total_bytes=1 << 20))


def test_repeated_member_name_is_refused(tmp_path):
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("dados/a.csv", b"1")
        with pytest.warns(UserWarning):
            archive.writestr("dados/a.csv", b"2")
    with pytest.raises(UnsafeArchiveError, match="appears twice"):
        open_archive(path)


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"<html><body>Service unavailable</body></html>")
    with pytest.raises(UnsafeArchiveError, match="not a readable zip"):
        open_archive(path)


def test_cp850_names_without_the_utf8_flag_are_decoded(census_zips):
    with open_archive(census_zips[2023].path) as archive:
        names = archive.namelist()
    assert any("ANEXO I - Dicionário de Dados" in name for name in names)
