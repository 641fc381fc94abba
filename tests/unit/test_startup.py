"""The web process starts without the heavy ML libraries; they load where a model is trained or served."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("tensorflow", "shap", "lightgbm", "xgboost", "sklearn")


def test_creating_the_web_app_imports_no_heavy_library(tmp_path):
    code = (
        "import json, sys; from webapp import create_app; create_app(); "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    env = {"AULA_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(output.stdout.strip().splitlines()[-1]) == []


def test_settings_reject_an_unknown_scale():
    import pytest

    from core.settings import Settings

    with pytest.raises(ValueError, match="AULA_SCALE"):
        Settings.from_env({"AULA_SCALE": "huge"})


def test_settings_default_to_sqlite_and_embedded_redis_in_the_data_dir(tmp_path):
    from core.settings import Settings

    settings = Settings.from_env({"AULA_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'aula.db'}"
    assert settings.redis_url is None and settings.models_dir == tmp_path / "models"
