"""The `flask --app wsgi ...` contract."""

from __future__ import annotations

import json

from core.models import User
from ml import registry


def test_users_create_with_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "cli@test.example", "--role", "facilities", "--password", "long-enough-pw"]
    )
    assert result.exit_code == 0, result.output
    assert User.by_email("cli@test.example").check_password("long-enough-pw")


def test_users_create_prompts_for_the_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "prompt@test.example", "--role", "ministry"], input="long-enough-pw\nlong-enough-pw\n"
    )
    assert result.exit_code == 0, result.output
    assert User.by_email("prompt@test.example").role == "ministry"


def test_users_create_refuses_an_unknown_role(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "x@test.example", "--role", "dean", "--password", "p" * 12]
    )
    assert result.exit_code != 0 and "dean" in result.output


def test_models_list_json(app):
    version = registry.register(
        "demo_task",
        {"w": 1},
        artifact_format=registry.JoblibFormat(),
        metrics={"f1": 0.5},
        params={},
        data_summary={},
        created_by="t",
    )
    registry.promote(version)
    result = app.test_cli_runner().invoke(args=["models", "list", "--json"])
    rows = json.loads(result.output)
    assert rows == [
        {
            "task": "demo_task",
            "version": 1,
            "status": "production",
            "metrics": {"f1": 0.5},
            "params": {},
            "created_at": rows[0]["created_at"],
        }
    ]


def test_token_command_prints_a_working_token(app, users):
    plain = app.test_cli_runner().invoke(args=["users", "token", users["admin"].email]).output.strip()
    response = app.test_client().get("/api/v1/models", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200
