import json

import pytest
from django.core.management import CommandError, call_command

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
