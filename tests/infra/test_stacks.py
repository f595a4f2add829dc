"""What the synthesised stacks promise, asserted on their templates."""

import json
import re

import pytest
from aws_cdk.assertions import Match

from infra.stacks.edge import CACHED_PATHS, NEVER_CACHED_PATHS, PAYMENTS_PATH
from infra.stacks.web import (
    CASH_PROVIDER,
    LIVENESS_PATH,
    ORIGIN_HEADER,
    READINESS_PATH,
    STRIPE_PROVIDER,
)

pytestmark = pytest.mark.slow

# AWS managed CloudFront policies, by their fixed IDs.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_AND_CLOUDFRONT = "33f36d7e-f396-46d9-90e0-52428a34d9dc"
YEAR = 365 * 24 * 3600


def resources(template, type_: str) -> dict:
    return template.find_resources(type_)


def props(resource: dict) -> dict:
    return resource.get("Properties", {})


def only(mapping: dict) -> dict:
    assert len(mapping) == 1, list(mapping)
    return next(iter(mapping.values()))


def all_templates(synth):
    return list(synth.templates.values())


# -- cdk-nag ----------------------------------------------------------------


def test_cdk_nag_finds_no_unacknowledged_errors(synth, synth_supabase):
    errors = [
        v for v in synth.violations + synth_supabase.violations if v[0] == "error"
    ]
    assert errors == []


def test_every_acknowledgement_names_its_rule_and_reason():
    from infra.nag import ACKNOWLEDGED

    assert ACKNOWLEDGED
    for path, rule, reason in ACKNOWLEDGED:
        assert rule.startswith("AwsSolutions-"), (path, rule)
        assert len(reason) >= 20, (path, rule)


# -- buckets ----------------------------------------------------------------


def test_every_bucket_is_encrypted_private_and_tls_only(synth, synth_supabase):
    checked = 0
    for template in all_templates(synth) + all_templates(synth_supabase):
        policies = resources(template, "AWS::S3::BucketPolicy")
        for logical_id, bucket in resources(template, "AWS::S3::Bucket").items():
            p = props(bucket)
            assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            assert p["PublicAccessBlockConfiguration"] == {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            }
            policy = next(
                props(pol)["PolicyDocument"]
                for pol in policies.values()
                if props(pol)["Bucket"] == {"Ref": logical_id}
            )
            assert any(
                s["Effect"] == "Deny"
                and s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false"
                for s in policy["Statement"]
            ), logical_id
            checked += 1
    assert checked >= 7


def test_clickstream_moves_to_glacier_after_the_configured_days(synth):
    days = synth.shop.config.clickstream_glacier_days
    synth.template("ShopData").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": Match.string_like_regexp("clickstream"),
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Transitions": [
                                    {
                                        "StorageClass": "GLACIER_IR",
                                        "TransitionInDays": days,
                                    }
                                ]
                            }
                        )
                    ]
                )
            },
        },
    )


# -- network and data -------------------------------------------------------


def test_vpc_spans_two_azs_with_s3_and_secrets_manager_endpoints(synth):
    network = synth.template("ShopNetwork")
    subnets = resources(network, "AWS::EC2::Subnet")
    assert len(subnets) == 6  # public, app and data in each of two AZs
    endpoints = [
        json.dumps(props(e)["ServiceName"])
        for e in resources(network, "AWS::EC2::VPCEndpoint").values()
    ]
    assert any(".s3" in e for e in endpoints)
    assert any("secretsmanager" in e for e in endpoints)


def test_rds_is_encrypted_private_and_behind_a_tls_proxy(synth):
    data = synth.template("ShopData")
    data.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "StorageEncrypted": True,
            "MultiAZ": True,
            "DeletionProtection": True,
            "PubliclyAccessible": False,
        },
    )
    data.has_resource_properties("AWS::RDS::DBProxy", {"RequireTLS": True})
    data.resource_count_is("AWS::ElastiCache::ServerlessCache", 1)


def test_supabase_and_no_redis_are_chosen_by_context(synth_supabase):
    data = synth_supabase.template("ShopData")
    data.resource_count_is("AWS::RDS::DBInstance", 0)
    data.resource_count_is("AWS::ElastiCache::ServerlessCache", 0)
    container = only(
        {
            k: v
            for k, v in resources(
                synth_supabase.template("ShopWeb"), "AWS::ECS::TaskDefinition"
            ).items()
            if props(v)["Family"] == "shop-web"
        }
    )
    definition = props(container)["ContainerDefinitions"][0]
    assert "DATABASE_URL" in {s["Name"] for s in definition["Secrets"]}
    assert "REDIS_URL" not in {e["Name"] for e in definition["Environment"]}


# -- auth -------------------------------------------------------------------


def test_user_pool_matches_cognito_bootstrap(synth):
    from accounts.services import PASSWORD_POLICY

    auth = synth.template("ShopAuth")
    pool = props(only(resources(auth, "AWS::Cognito::UserPool")))
    assert pool["Policies"]["PasswordPolicy"] == PASSWORD_POLICY
    assert pool["UsernameAttributes"] == ["email"]
    groups = {
        props(g)["GroupName"]
        for g in resources(auth, "AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == {"staff", "admin"}
    client = props(only(resources(auth, "AWS::Cognito::UserPoolClient")))
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["CallbackURLs"] == [
        "https://shop.example.com/accounts/hosted/callback/"
    ]
    assert "GenerateSecret" not in client or client["GenerateSecret"] is False
    auth.resource_count_is("AWS::Cognito::UserPoolDomain", 1)


# -- web --------------------------------------------------------------------


def web_containers(synth) -> dict:
    return {
        props(t)["Family"]: props(t)["ContainerDefinitions"][0]
        for t in resources(
            synth.template("ShopWeb"), "AWS::ECS::TaskDefinition"
        ).values()
    }


def test_task_definitions_for_web_jobs_and_one_off_tasks(synth):
    containers = web_containers(synth)
    assert containers["shop-web"]["Command"] == ["web"]
    assert containers["shop-jobs"]["Command"] == ["manage", "run_jobs", "-v0"]
    assert containers["shop-migrate"]["Command"] == ["migrate"]
    assert containers["shop-worker"]["Command"][:2] == ["manage", "db_worker"]
    assert containers["shop-cognito-bootstrap"]["Command"] == [
        "manage",
        "cognito_bootstrap",
    ]
    web = containers["shop-web"]
    assert LIVENESS_PATH in " ".join(web["HealthCheck"]["Command"])


def test_secrets_come_from_secrets_manager_and_never_the_environment(synth):
    for family, container in web_containers(synth).items():
        secrets = {s["Name"] for s in container["Secrets"]}
        assert {"DJANGO_SECRET_KEY", "DJANGO_ORIGIN_SECRET", "DB_PASSWORD"} <= secrets
        names = {e["Name"] for e in container["Environment"]}
        assert not names & secrets, family
        assert not any(re.search("SECRET_KEY|PASSWORD", n) for n in names), family


def environment(container: dict) -> dict:
    return {e["Name"]: e["Value"] for e in container["Environment"]}


def secret_sources(container: dict) -> dict:
    return {s["Name"]: json.dumps(s["ValueFrom"]) for s in container["Secrets"]}


def secret_logical_id(template, prefix: str) -> str:
    (logical_id,) = [
        k
        for k in resources(template, "AWS::SecretsManager::Secret")
        if k.startswith(prefix)
    ]
    return logical_id


def test_every_app_task_sends_mail_through_ses_with_secret_credentials(
    synth, synth_supabase
):
    email = secret_logical_id(synth.template("ShopData"), "EmailSmtp")
    for built, sender in ((synth, "shop@shop.example.com"), (synth_supabase, None)):
        containers = web_containers(built)
        assert {"shop-web", "shop-worker", "shop-jobs", "shop-migrate"} <= set(
            containers
        )
        for family, container in containers.items():
            env = environment(container)
            region = built.shop.config.region
            assert env["EMAIL_HOST"] == f"email-smtp.{region}.amazonaws.com", family
            assert env["EMAIL_PORT"] == "587" and env["EMAIL_USE_TLS"] == "true"
            assert env["DEFAULT_FROM_EMAIL"] == (sender or "orders@example.org")
            sources = secret_sources(container)
            assert email in sources["EMAIL_HOST_USER"], family
            assert ":username::" in sources["EMAIL_HOST_USER"], family
            assert email in sources["EMAIL_HOST_PASSWORD"], family
            assert ":password::" in sources["EMAIL_HOST_PASSWORD"], family
            assert "EMAIL_HOST_USER" not in env and "EMAIL_HOST_PASSWORD" not in env


def test_operator_secrets_start_as_json_with_every_key_the_tasks_read(synth):
    data = synth.template("ShopData")
    secrets = resources(data, "AWS::SecretsManager::Secret")
    for prefix, keys in (
        ("EmailSmtp", {"username", "password"}),
        ("Stripe", {"secret_key", "webhook_secret"}),
    ):
        generate = props(secrets[secret_logical_id(data, prefix)])[
            "GenerateSecretString"
        ]
        template = json.loads(generate["SecretStringTemplate"])
        assert set(template) | {generate["GenerateStringKey"]} == keys, prefix
    outputs = data.to_json()["Outputs"]
    assert {"EmailSecretArn", "StripeSecretArn"} <= set(outputs)


def test_card_payments_are_off_by_default(synth):
    for family, container in web_containers(synth).items():
        env = environment(container)
        assert env["SHOP_PAYMENT_PROVIDERS"] == CASH_PROVIDER, family
        assert env["SHOP_CURRENCY"] == "GBP"
        assert "STRIPE_PUBLISHABLE_KEY" not in env
        assert not any(n.startswith("STRIPE_") for n in secret_sources(container))


def test_card_payments_bring_stripe_keys_as_secrets_and_the_provider(synth_supabase):
    stripe = secret_logical_id(synth_supabase.template("ShopData"), "Stripe")
    for family, container in web_containers(synth_supabase).items():
        env = environment(container)
        assert env["SHOP_PAYMENT_PROVIDERS"].split(",") == [
            CASH_PROVIDER,
            STRIPE_PROVIDER,
        ], family
        assert env["STRIPE_PUBLISHABLE_KEY"] == "pk_test_placeholder"
        sources = secret_sources(container)
        assert stripe in sources["STRIPE_SECRET_KEY"], family
        assert ":secret_key::" in sources["STRIPE_SECRET_KEY"], family
        assert stripe in sources["STRIPE_WEBHOOK_SECRET"], family
        assert ":webhook_secret::" in sources["STRIPE_WEBHOOK_SECRET"], family
        assert not set(env) & set(sources), family
        assert not any(re.search("SECRET|PASSWORD", n) for n in env), family


def test_card_payments_need_a_publishable_key_and_never_a_secret_one():
    from aws_cdk import App

    from infra.config import config_from

    def config(**context):
        return config_from(App(context=context).node)

    with pytest.raises(ValueError, match="needs stripePublishableKey"):
        config(cardPayments="true")
    with pytest.raises(ValueError, match="must be a pk_"):
        config(cardPayments="true", stripePublishableKey="sk_live_oops")
    assert config().card_payments is False
    assert config(region="us-east-1").email_host == (
        "email-smtp.us-east-1.amazonaws.com"
    )


def test_tasks_get_no_public_ip(synth):
    web = synth.template("ShopWeb")
    services = resources(web, "AWS::ECS::Service")
    assert len(services) == 2
    for service in services.values():
        network = props(service)["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
    for schedule in resources(
        synth.template("ShopJobs"), "AWS::Scheduler::Schedule"
    ).values():
        network = props(schedule)["Target"]["EcsParameters"]["NetworkConfiguration"]
        assert network["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"


def test_task_worker_runs_as_its_own_service_like_the_web(synth):
    web = synth.template("ShopWeb")
    by_name = {
        props(s)["ServiceName"]: props(s)
        for s in resources(web, "AWS::ECS::Service").values()
    }
    worker, site = by_name["shop-worker"], by_name["shop-web"]
    assert worker["DesiredCount"] == 1
    assert "LoadBalancers" not in worker
    # The same network as the web service: its subnets and security group.
    assert (
        worker["NetworkConfiguration"]["AwsvpcConfiguration"]
        == site["NetworkConfiguration"]["AwsvpcConfiguration"]
    )
    assert worker["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    tasks = resources(web, "AWS::ECS::TaskDefinition")
    worker_task = props(tasks[worker["TaskDefinition"]["Ref"]])
    web_task = props(tasks[site["TaskDefinition"]["Ref"]])
    container = worker_task["ContainerDefinitions"][0]
    web_container = web_task["ContainerDefinitions"][0]
    assert container["Command"] == ["manage", "db_worker", "--no-reload", "-v1"]
    # The same image, settings and secrets as the web service.
    for key in ("Image", "Environment", "Secrets"):
        assert container[key] == web_container[key], key
    # Its logs go to a log group that expires them.
    group = container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
    logs = resources(web, "AWS::Logs::LogGroup")
    assert props(logs[group])["RetentionInDays"] > 0


def test_alb_is_reachable_only_from_cloudfront(synth):
    network, web = synth.template("ShopNetwork"), synth.template("ShopWeb")
    alb_group = props(
        only(
            {
                k: v
                for k, v in resources(network, "AWS::EC2::SecurityGroup").items()
                if "ALB" in props(v)["GroupDescription"]
            }
        )
    )
    assert "SecurityGroupIngress" not in alb_group
    ingress = [
        props(r)
        for t in (network, web)
        for r in resources(t, "AWS::EC2::SecurityGroupIngress").values()
    ]
    assert not any(
        i.get("CidrIp") == "0.0.0.0/0" or i.get("CidrIpv6") == "::/0" for i in ingress
    )
    from_cloudfront = [i for i in ingress if "SourcePrefixListId" in i]
    assert len(from_cloudfront) == 1
    assert from_cloudfront[0]["FromPort"] == from_cloudfront[0]["ToPort"] == 443
    # The prefix list is looked up by name at deploy time.
    lookup = props(only(resources(web, "Custom::AWS")))
    assert "com.amazonaws.global.cloudfront.origin-facing" in json.dumps(lookup)
    # Without the origin secret the listener answers 403.
    listener = props(only(resources(web, "AWS::ElasticLoadBalancingV2::Listener")))
    assert listener["DefaultActions"][0]["Type"] == "fixed-response"
    assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "403"
    rule = props(only(resources(web, "AWS::ElasticLoadBalancingV2::ListenerRule")))
    condition = rule["Conditions"][0]
    assert condition["Field"] == "http-header"
    assert condition["HttpHeaderConfig"]["HttpHeaderName"] == ORIGIN_HEADER
    assert "secretsmanager" in json.dumps(condition["HttpHeaderConfig"]["Values"])


def test_load_balancer_checks_readiness_and_service_rolls_back(synth):
    web = synth.template("ShopWeb")
    web.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"HealthCheckPath": READINESS_PATH, "TargetType": "ip"},
    )
    web.has_resource_properties(
        "AWS::ECS::Service",
        {
            "DeploymentConfiguration": Match.object_like(
                {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}}
            )
        },
    )


def test_web_scales_on_cpu_and_request_count(synth):
    web = synth.template("ShopWeb")
    metrics = {
        props(p)["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]
        for p in resources(web, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


def test_log_groups_have_retention(synth):
    count = 0
    for template in all_templates(synth):
        for group in resources(template, "AWS::Logs::LogGroup").values():
            assert props(group)["RetentionInDays"] > 0
            count += 1
    assert count >= 4


# -- edge -------------------------------------------------------------------


def distribution(synth) -> dict:
    edge = synth.template("ShopEdge")
    return props(only(resources(edge, "AWS::CloudFront::Distribution")))[
        "DistributionConfig"
    ]


def behaviours(synth) -> dict:
    return {b["PathPattern"]: b for b in distribution(synth)["CacheBehaviors"]}


def cache_policy(synth, behaviour: dict) -> dict:
    policy_id = behaviour["CachePolicyId"]
    if isinstance(policy_id, str):
        return {"managed": policy_id}
    logical_id = policy_id["Ref"]
    return props(synth.template("ShopEdge").to_json()["Resources"][logical_id])[
        "CachePolicyConfig"
    ]


def test_static_and_media_come_from_s3_with_oac_for_a_year(synth):
    config = distribution(synth)
    origins = {o["Id"]: o for o in config["Origins"]}
    groups = {g["Id"]: g for g in config.get("OriginGroups", {}).get("Items", [])}
    for path in ("/static/*", "/media/*"):
        behaviour = behaviours(synth)[path]
        policy = cache_policy(synth, behaviour)
        assert policy["MinTTL"] == policy["DefaultTTL"] == policy["MaxTTL"] == YEAR
        target = behaviour["TargetOriginId"]
        if target in groups:  # static: S3 first, the app if a file is missing
            target = groups[target]["Members"]["Items"][0]["OriginId"]
        origin = origins[target]
        assert "S3OriginConfig" in origin
        assert "OriginAccessControlId" in origin


def test_catalogue_and_api_honour_the_shops_cache_control(synth):
    for path in ("/c/*", "/p/*", "/search/*", "/api/*"):
        behaviour = behaviours(synth)[path]
        policy = cache_policy(synth, behaviour)
        assert policy["MinTTL"] == 0 and policy["DefaultTTL"] == 0
        assert policy["MaxTTL"] > 0
        key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
        assert key["QueryStringsConfig"]["QueryStringBehavior"] == "all"
        assert key["CookiesConfig"]["Cookies"] == ["sessionid", "csrftoken"]
        assert key["HeadersConfig"]["Headers"] == ["Authorization"]


def test_bearer_json_reaches_the_app_before_the_accounts_rule(synth):
    order = [b["PathPattern"] for b in distribution(synth)["CacheBehaviors"]]
    assert order.index("/accounts/api/*") < order.index("/accounts/*")
    policy = cache_policy(synth, behaviours(synth)["/accounts/api/*"])
    assert policy["DefaultTTL"] == 0 and policy["MaxTTL"] <= 1
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"]["Headers"] == ["Authorization"]


def test_private_paths_are_never_cached_and_forward_cookies(synth):
    for path in NEVER_CACHED_PATHS:
        behaviour = behaviours(synth)[path]
        assert behaviour["CachePolicyId"] == CACHING_DISABLED
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_AND_CLOUDFRONT
        assert "POST" in behaviour["AllowedMethods"]
    assert {"/admin/*", "/analytics/*", "/dashboard/*"} <= set(NEVER_CACHED_PATHS)


def test_stripe_webhook_reaches_the_app_uncached_with_its_signature(synth):
    from django.urls import reverse

    webhook = reverse("shop:stripe_webhook")
    assert webhook.startswith(PAYMENTS_PATH.rstrip("*"))
    behaviour = behaviours(synth)[PAYMENTS_PATH]
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    # Every viewer header (Stripe-Signature among them) and the body as sent.
    assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_AND_CLOUDFRONT
    assert "POST" in behaviour["AllowedMethods"]
    app = behaviours(synth)["/cart/*"]["TargetOriginId"]
    assert behaviour["TargetOriginId"] == app


def test_viewer_country_reaches_the_app_on_every_app_behaviour(synth):
    edge = synth.template("ShopEdge").to_json()["Resources"]
    config = distribution(synth)
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        if behaviour.get("PathPattern") in ("/static/*", "/media/*", "/app/*"):
            continue
        request_policy = behaviour["OriginRequestPolicyId"]
        if request_policy == ALL_VIEWER_AND_CLOUDFRONT:
            continue  # forwards every viewer and CloudFront header
        headers = props(edge[request_policy["Ref"]])["OriginRequestPolicyConfig"][
            "HeadersConfig"
        ]["Headers"]
        assert "CloudFront-Viewer-Country" in headers
        assert "Host" in headers


def test_distribution_has_waf_tls12_http3_and_security_headers(synth):
    config = distribution(synth)
    assert config["WebACLId"]
    assert config["HttpVersion"] == "http2and3"
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["Aliases"] == ["shop.example.com"]
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behaviour["ResponseHeadersPolicyId"]
    synth.template("ShopEdge").has_resource_properties(
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": Match.object_like(
                {
                    "SecurityHeadersConfig": Match.object_like(
                        {
                            "StrictTransportSecurity": Match.object_like(
                                {"AccessControlMaxAgeSec": YEAR}
                            )
                        }
                    )
                }
            )
        },
    )
    app_origins = [o for o in config["Origins"] if "CustomOriginConfig" in o]
    alb = [o for o in app_origins if o.get("OriginCustomHeaders")]
    assert alb and alb[0]["OriginCustomHeaders"][0]["HeaderName"] == ORIGIN_HEADER
    assert alb[0]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_web_acl_has_managed_rule_sets_and_a_rate_limit(synth):
    waf = synth.template("ShopWaf")
    acl = props(only(resources(waf, "AWS::WAFv2::WebACL")))
    assert acl["Scope"] == "CLOUDFRONT"
    rules = {r["Name"]: r["Statement"] for r in acl["Rules"]}
    assert rules["AWSManagedRulesCommonRuleSet"]["ManagedRuleGroupStatement"]
    assert rules["AWSManagedRulesKnownBadInputsRuleSet"]["ManagedRuleGroupStatement"]
    assert rules["RatePerIp"]["RateBasedStatement"]["Limit"] > 0
    assert synth.shop.waf.region == "us-east-1"


def test_amplify_app_branch_and_routing(synth):
    frontend = synth.template("ShopFrontend")
    frontend.resource_count_is("AWS::Amplify::App", 1)
    frontend.has_resource_properties("AWS::Amplify::Branch", {"Stage": "PRODUCTION"})
    behaviour = behaviours(synth)["/app/*"]
    origin = next(
        o
        for o in distribution(synth)["Origins"]
        if o["Id"] == behaviour["TargetOriginId"]
    )
    assert "amplifyapp" in json.dumps(origin["DomainName"]) or "Fn::" in json.dumps(
        origin["DomainName"]
    )
    assert "/api/*" in behaviours(synth)


def test_edge_paths_cover_the_issue_list():
    assert set(CACHED_PATHS) >= {"/c/*", "/p/*", "/search/*", "/api/*"}


# -- analytics --------------------------------------------------------------


def test_firehose_writes_the_s3_sinks_partitions(synth):
    from analytics.sinks import s3_key

    analytics = synth.template("ShopAnalytics")
    stream = props(only(resources(analytics, "AWS::KinesisFirehose::DeliveryStream")))
    prefix = stream["ExtendedS3DestinationConfiguration"]["Prefix"]
    filled = prefix.replace("!{partitionKeyFromQuery:dt}", "2024-05-01").replace(
        "!{partitionKeyFromQuery:hour}", "07"
    )
    assert s3_key(prefix="clickstream", dt="2024-05-01", hour="07").startswith(filled)
    query = stream["ExtendedS3DestinationConfiguration"]["ProcessingConfiguration"]
    assert ".occurred_at[0:10]" in json.dumps(query)


def athena_ddl_columns() -> dict[str, list[tuple[str, str]]]:
    """Each table's columns, read from the text `manage.py athena_ddl` prints."""
    from adminpanel.athena import athena_ddl

    tables = {}
    for statement in athena_ddl(bucket="b", prefix="p", database="d").split(";\n"):
        match = re.search(
            r"CREATE EXTERNAL TABLE IF NOT EXISTS `d`\.`(\w+)` \((.*?)\n\)",
            statement,
            re.S,
        )
        if match:
            tables[match[1]] = re.findall(r"^  `([^`]+)` (.+?),?$", match[2], re.M)
    return tables


def test_glue_tables_have_athena_ddls_columns(synth):
    analytics = synth.template("ShopAnalytics")
    glue = {
        props(t)["TableInput"]["Name"]: props(t)["TableInput"]
        for t in resources(analytics, "AWS::Glue::Table").values()
    }
    expected = athena_ddl_columns()
    assert set(glue) == set(expected)
    assert "clickstream" in expected and "events" in expected
    for name, columns in expected.items():
        got = [
            (c["Name"], c["Type"]) for c in glue[name]["StorageDescriptor"]["Columns"]
        ]
        assert got == columns, name
    assert [k["Name"] for k in glue["clickstream"]["PartitionKeys"]] == ["dt", "hour"]
    assert [k["Name"] for k in glue["events"]["PartitionKeys"]] == ["dt"]


def test_athena_workgroup_limits_each_query(synth):
    workgroup = props(
        only(resources(synth.template("ShopAnalytics"), "AWS::Athena::WorkGroup"))
    )
    config = workgroup["WorkGroupConfiguration"]
    assert (
        config["BytesScannedCutoffPerQuery"]
        == synth.shop.config.athena_scan_limit_bytes
    )
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["ResultConfiguration"]["EncryptionConfiguration"]


# -- jobs -------------------------------------------------------------------


def schedules(synth) -> dict:
    return {
        props(s)["Name"]: props(s)
        for s in resources(
            synth.template("ShopJobs"), "AWS::Scheduler::Schedule"
        ).values()
    }


def test_run_jobs_runs_every_minute_as_a_fargate_task(synth):
    run_jobs = schedules(synth)["shop-run-jobs"]
    assert run_jobs["ScheduleExpression"] == "rate(1 minute)"
    assert run_jobs["State"] == "ENABLED"
    target = run_jobs["Target"]
    assert "ShopWeb" in json.dumps(target["Arn"])  # the cluster
    assert target["EcsParameters"]["LaunchType"] == "FARGATE"
    assert "JobsTask" in json.dumps(target["EcsParameters"]["TaskDefinitionArn"])
    command = json.loads(target["Input"])["containerOverrides"][0]["command"]
    assert command == ["manage", "run_jobs", "-v0"]


def test_archive_schedule_is_disabled_by_default(synth):
    archive = schedules(synth)["shop-archive"]
    assert archive["State"] == "DISABLED"
    command = json.loads(archive["Target"]["Input"])["containerOverrides"][0]["command"]
    assert command == ["manage", "run_jobs", "--job", "archive_to_s3", "-v0"]


# -- observability ----------------------------------------------------------


def test_every_alarm_exists_and_notifies_the_topic(synth, synth_supabase):
    observability = synth.template("ShopObservability")
    alarms = {
        props(a)["AlarmName"]: props(a)
        for a in resources(observability, "AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {
        "shop-5xx-rate",
        "shop-p95-latency",
        "shop-unhealthy-tasks",
        "shop-no-healthy-tasks",
        "shop-db-cpu",
        "shop-db-connections",
        "shop-firehose-delivery-failures",
        "shop-firehose-data-freshness",
        "shop-job-failures",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"]
    observability.resource_count_is("AWS::SNS::Topic", 1)
    observability.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    observability.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    # Supabase has no CloudWatch metrics: the database alarms go with RDS.
    supabase = resources(
        synth_supabase.template("ShopObservability"), "AWS::CloudWatch::Alarm"
    )
    names = {props(a)["AlarmName"] for a in supabase.values()}
    assert "shop-db-cpu" not in names and "shop-5xx-rate" in names
