import json

import pytest
import requests
from django.core.management import CommandError, call_command

from accounts.services import account_authenticate
from config.aws import aws_client


def test_cognito_bootstrap_is_idempotent(aws_local, settings, capsys):
    call_command("cognito_bootstrap")
    first = capsys.readouterr().out
    assert "Demo account shopper@example.com password:" in first
    record = json.loads(settings.COGNITO_LOCAL_CONFIG.read_text())
    assert record["endpoint_url"] == aws_local
    call_command("cognito_bootstrap")
    second = capsys.readouterr().out
    assert "Nothing to do" in second
    assert "password" not in second
    assert json.loads(settings.COGNITO_LOCAL_CONFIG.read_text()) == record
    client = aws_client("cognito-idp")
    pools = client.list_user_pools(MaxResults=10)["UserPools"]
    assert len(pools) == 1
    pool = client.describe_user_pool(UserPoolId=record["user_pool_id"])["UserPool"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"]["RequireSymbols"] is True
    app = client.describe_user_pool_client(
        UserPoolId=record["user_pool_id"], ClientId=record["client_id"]
    )["UserPoolClient"]
    assert set(app["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert app["PreventUserExistenceErrors"] == "ENABLED"


def test_cognito_bootstrap_dry_run_creates_nothing(aws_local, settings, capsys):
    call_command("cognito_bootstrap", "--dry-run")
    assert "Would create user pool" in capsys.readouterr().out
    assert not settings.COGNITO_LOCAL_CONFIG.exists()


def test_cognito_bootstrap_names_an_unreachable_endpoint(settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="not reachable"):
        call_command("cognito_bootstrap")


def test_demo_passwords_stay_the_same_when_the_pool_is_rebuilt(
    aws_local, settings, capsys
):
    call_command("cognito_bootstrap")
    first = capsys.readouterr().out
    # The local stand-in starts empty on every `make run`.
    requests.post(f"{aws_local}/moto-api/reset", timeout=5)
    call_command("cognito_bootstrap")
    second = capsys.readouterr().out

    kept = json.loads(settings.COGNITO_DEMO_PASSWORDS.read_text())
    for email in ["shopper@example.com", "staff@example.com"]:
        line = f"Demo account {email} password: {kept[email]}"
        assert line in first and line in second
        assert account_authenticate(email=email, password=kept[email])
    assert str(settings.COGNITO_DEMO_PASSWORDS) in second
    assert settings.COGNITO_DEMO_PASSWORDS.stat().st_mode & 0o777 == 0o600


def test_the_readme_names_the_stand_ins_port_and_how_to_change_it(settings):
    readme = (settings.BASE_DIR / "README.md").read_text()

    assert f"http://127.0.0.1:{settings.AWS_LOCAL_PORT}" in readme
    assert "AWS_LOCAL_PORT=" in readme
    assert ".local/demo-passwords.json" in readme
