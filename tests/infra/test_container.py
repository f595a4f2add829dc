"""
The Dockerfile's rules, read with dockerfile-parse (no image can be built
here), and the entrypoint run outside a container against PostgreSQL.
"""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "infra" / "docker" / "entrypoint.sh"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|CREDENTIAL|PRIVATE|_KEY$|^KEY$", re.I)


@pytest.fixture(scope="module")
def dockerfile():
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return parser


def stages(dockerfile) -> list[list[dict]]:
    """The instructions, split at each FROM."""
    result = []
    for instruction in dockerfile.structure:
        if instruction["instruction"] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_dockerfile_is_multi_stage_on_a_slim_python_pinned_by_digest(dockerfile):
    froms = [i["value"] for i in dockerfile.structure if i["instruction"] == "FROM"]
    assert len(froms) >= 2
    for value in froms:
        image = value.split()[0]
        assert re.search(r"@sha256:[0-9a-f]{64}$", image), image
        version = re.search(r"python:3\.(\d+)-slim", image)
        assert version and int(version[1]) >= 12, image


def test_runtime_stage_runs_as_a_non_root_user(dockerfile):
    final = stages(dockerfile)[-1]
    users = [i["value"].split(":")[0] for i in final if i["instruction"] == "USER"]
    assert users and users[-1] not in {"root", "0"}


def test_static_files_are_collected_at_build_time(dockerfile):
    final = stages(dockerfile)[-1]
    assert any(
        "collectstatic" in i["value"] for i in final if i["instruction"] == "RUN"
    )


def test_healthcheck_probes_the_liveness_endpoint(dockerfile):
    checks = [
        i["value"] for i in dockerfile.structure if i["instruction"] == "HEALTHCHECK"
    ]
    assert len(checks) == 1
    assert "/healthz/live" in checks[0]


def test_no_secret_in_any_env_or_arg(dockerfile):
    for instruction in dockerfile.structure:
        if instruction["instruction"] not in {"ENV", "ARG"}:
            continue
        names = re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", instruction["value"])
        names = names or [instruction["value"].split("=")[0].split()[0]]
        for name in names:
            assert not SECRET_NAME.search(name), instruction["content"]


def test_gunicorn_workers_and_threads_come_from_the_environment(dockerfile):
    text = ENTRYPOINT.read_text()
    assert '--workers "${GUNICORN_WORKERS' in text
    assert '--threads "${GUNICORN_THREADS' in text
    assert dockerfile.json  # parses
    entry = [
        i["value"] for i in dockerfile.structure if i["instruction"] == "ENTRYPOINT"
    ]
    assert "infra/docker/entrypoint.sh" in entry[-1]
    assert os.access(ENTRYPOINT, os.X_OK)


def test_image_installs_only_the_runtime_requirements(dockerfile):
    run = " ".join(
        i["value"] for i in dockerfile.structure if i["instruction"] == "RUN"
    )
    marker = re.search(r"sed '/\^(.*?)/,\$d' requirements.txt", run)
    assert marker, "the build no longer cuts requirements.txt at a marker"
    text = (ROOT / "requirements.txt").read_text()
    assert marker[1] in text
    runtime = text[: text.index(marker[1])]
    assert "gunicorn==" in runtime and "Django==" in runtime
    for tool in ("pytest==", "moto", "aws-cdk-lib==", "playwright=="):
        assert tool not in runtime


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".git", ".venv", ".local", "staticfiles", "media"):
        assert entry in ignored


# -- the entrypoint, outside a container ---------------------------------


@pytest.fixture
def empty_database(postgres_only):
    """A new, empty PostgreSQL database, dropped afterwards."""
    import psycopg2

    params = connection.settings_dict
    name = f"shop_entrypoint_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(
        dbname="postgres",
        user=params["USER"],
        password=params["PASSWORD"] or None,
        host=params["HOST"],
        port=params["PORT"] or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {**params, "NAME": name}
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def run_entrypoint(*args, env: dict) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DB_"))
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env={
            **base,
            "PYTHON": sys.executable,
            "DJANGO_SECRET_KEY": "entrypoint-test",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def applied_migrations(params: dict) -> int:
    import psycopg2

    with (
        psycopg2.connect(
            dbname=params["NAME"],
            user=params["USER"],
            password=params["PASSWORD"] or None,
            host=params["HOST"],
            port=params["PORT"] or 5432,
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute("SELECT count(*) FROM django_migrations")
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_migrate_task_migrates_an_empty_database_from_the_rds_variables(
    empty_database,
):
    # As ECS runs it against RDS: host, name, user and password apart.
    env = {
        "DB_HOST": empty_database["HOST"] or "127.0.0.1",
        "DB_PORT": str(empty_database["PORT"] or 5432),
        "DB_NAME": empty_database["NAME"],
        "DB_USER": empty_database["USER"],
        "DB_PASSWORD": empty_database["PASSWORD"] or "",
    }
    first = run_entrypoint("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert applied_migrations(empty_database) > 10
    again = run_entrypoint("migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert "No migrations to apply" in again.stdout


@pytest.mark.postgres
def test_web_start_never_migrates(empty_database):
    p = empty_database
    url = f"postgres://{p['USER']}:{p['PASSWORD'] or ''}@{p['HOST'] or '127.0.0.1'}:{p['PORT'] or 5432}/{p['NAME']}"
    # gunicorn loads the WSGI app and exits: the web command's whole start.
    result = run_entrypoint("web", "--check-config", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert applied_migrations(empty_database) == 0


def test_entrypoint_refuses_an_unknown_command():
    result = run_entrypoint("deploy-everything", env={})
    assert result.returncode == 64
    assert "unknown command" in result.stderr
