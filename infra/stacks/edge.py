"""
CloudFront in front of everything, with the README's cache rules, a
response-headers policy and AWS WAF (whose web ACL must live in us-east-1,
hence its own small stack).
"""

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import Config
from infra.nag import acknowledge
from infra.stacks.data import DataStack
from infra.stacks.frontend import FrontendStack
from infra.stacks.web import ORIGIN_HEADER, WebStack

YEAR = Duration.days(365)
# Where each kind of path goes and how it is cached. The README's Deployment
# section states the same rules; tests/infra reads both and compares them.
ASSET_PATHS = ["/static/*", "/media/*"]
CACHED_PATHS = ["/c/*", "/p/*", "/search/*", "/api/*"]
NEVER_CACHED_PATHS = [
    "/cart/*",
    "/checkout/*",
    "/orders/*",
    "/accounts/*",
    "/dashboard/*",
    "/admin/*",
    "/analytics/*",
]
FRONTEND_PATH = "/app/*"
# Listed before /accounts/*, which it narrows (CloudFront takes the first
# behaviour that matches).
BEARER_PATH = "/accounts/api/*"
# Stripe's webhooks (shop/urls.py: /payments/stripe/webhook/): POSTs that
# must reach the app uncached with their body and Stripe-Signature header
# as sent, which the default (pages) behaviour's request policy would drop.
PAYMENTS_PATH = "/payments/*"
# Per-visitor state: a visitor who has either gets pages of their own.
SESSION_COOKIES = ["sessionid", "csrftoken"]


class WafStack(Stack):
    """The web ACL CloudFront uses: deployed to us-east-1."""

    def __init__(self, scope: Construct, id: str, *, config: Config, **kwargs):
        super().__init__(scope, id, **kwargs)

        def visibility(name: str):
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name=name,
                sampled_requests_enabled=True,
            )

        def managed(name: str, priority: int, overrides=()):
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=name,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule,
                                action_to_use=wafv2.CfnWebACL.RuleActionProperty(
                                    count={}
                                ),
                            )
                            for rule in overrides
                        ]
                        or None,
                    )
                ),
                visibility_config=visibility(name),
            )

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name="shop-edge",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("shop-edge"),
            rules=[
                # Bodies over 8 KB are counted, not blocked: catalogue imports
                # in the admin and /analytics/collect batches exceed it.
                managed("AWSManagedRulesCommonRuleSet", 10, ["SizeRestrictions_BODY"]),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 20),
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerIp",
                    priority=30,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=config.waf_rate_limit,
                            evaluation_window_sec=300,
                        )
                    ),
                    visibility_config=visibility("RatePerIp"),
                ),
            ],
        )
        # WAF's log group name must start with aws-waf-logs-.
        waf_logs = logs.LogGroup(
            self,
            "WafLogs",
            log_group_name="aws-waf-logs-shop",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[waf_logs.log_group_arn],
        )


class EdgeStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        web: WebStack,
        data: DataStack,
        frontend: FrontendStack,
        web_acl_arn: str,
        **kwargs,
    ):
        super().__init__(scope, id, **kwargs)
        app_origin = origins.LoadBalancerV2Origin(
            web.alb,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY
            if config.origin_https
            else cloudfront.OriginProtocolPolicy.HTTP_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            custom_headers={
                ORIGIN_HEADER: data.origin_secret.secret_value.unsafe_unwrap()
            },
            read_timeout=Duration.seconds(30),
            keepalive_timeout=Duration.seconds(5),
        )
        # Imported by attributes: the buckets' policies (data stack) already
        # admit CloudFront, and editing them from here would make the two
        # stacks depend on each other.
        media = s3.Bucket.from_bucket_attributes(
            self,
            "MediaBucket",
            bucket_arn=data.media.bucket_arn,
            bucket_regional_domain_name=data.media.bucket_regional_domain_name,
        )
        static = s3.Bucket.from_bucket_attributes(
            self,
            "StaticBucket",
            bucket_arn=data.static.bucket_arn,
            bucket_regional_domain_name=data.static.bucket_regional_domain_name,
        )
        media_origin = origins.S3BucketOrigin.with_origin_access_control(media)
        # Static files are published to S3 by the release task; until a new
        # file is there, the app's WhiteNoise answers for it.
        static_origin = origins.OriginGroup(
            primary_origin=origins.S3BucketOrigin.with_origin_access_control(static),
            fallback_origin=app_origin,
            fallback_status_codes=[403, 404, 500, 502, 503, 504],
        )
        frontend_origin = origins.HttpOrigin(
            frontend.branch_domain,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
        )

        self.assets_policy = cloudfront.CachePolicy(
            self,
            "AssetsCachePolicy",
            cache_policy_name="shop-assets-one-year",
            comment="Fingerprinted static files and write-once media",
            min_ttl=YEAR,
            default_ttl=YEAR,
            max_ttl=YEAR,
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        self.pages_policy = cloudfront.CachePolicy(
            self,
            "PagesCachePolicy",
            cache_policy_name="shop-pages-origin-cache-control",
            comment="Catalogue and API GETs: cached only as the shop's "
            "Cache-Control allows",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.days(1),
            cookie_behavior=cloudfront.CacheCookieBehavior.allow_list(*SESSION_COOKIES),
            # CloudFront forwards Authorization on GETs only from the cache
            # key; keying on it also keeps one token's answers from another.
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        # Bearer-token JSON under a never-cached prefix (/accounts/api/me):
        # CachingDisabled cannot forward Authorization on a GET, so this
        # policy keys on it and caches nothing the app does not allow
        # (default 0 s; at most 1 s even if a response asked for more).
        self.bearer_policy = cloudfront.CachePolicy(
            self,
            "BearerCachePolicy",
            cache_policy_name="shop-bearer-no-store",
            comment="Private JSON: forwards Authorization, caches nothing",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.seconds(1),
            cookie_behavior=cloudfront.CacheCookieBehavior.all(),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
        )
        self.pages_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "PagesOriginRequestPolicy",
            origin_request_policy_name="shop-pages",
            comment="Every cookie (analytics, consent), the Host and the "
            "viewer's country",
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.all(),
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(
                "Host",
                "CloudFront-Viewer-Country",
                "CloudFront-Forwarded-Proto",
                "Accept-Language",
                "Referer",
                "User-Agent",
            ),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.all(),
        )
        self.headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name="shop-security-headers",
            comment="HSTS, nosniff, frame denial, referrer policy",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=YEAR,
                    include_subdomains=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(
                    override=True
                ),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=False,
                ),
            ),
            remove_headers=["Server"],
        )

        def behavior(origin, cache_policy, request_policy=None, *, methods=None):
            return cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cache_policy,
                origin_request_policy=request_policy,
                response_headers_policy=self.headers_policy,
                allowed_methods=methods or cloudfront.AllowedMethods.ALLOW_ALL,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                compress=True,
            )

        pages = behavior(app_origin, self.pages_policy, self.pages_request_policy)
        never = behavior(
            app_origin,
            cloudfront.CachePolicy.CACHING_DISABLED,
            cloudfront.OriginRequestPolicy.ALL_VIEWER_AND_CLOUDFRONT_2022,
        )
        get_head = cloudfront.AllowedMethods.ALLOW_GET_HEAD
        behaviors = {
            BEARER_PATH: behavior(
                app_origin, self.bearer_policy, self.pages_request_policy
            ),
            "/static/*": behavior(static_origin, self.assets_policy, methods=get_head),
            "/media/*": behavior(media_origin, self.assets_policy, methods=get_head),
            **dict.fromkeys(NEVER_CACHED_PATHS, never),
            PAYMENTS_PATH: never,
            **dict.fromkeys(CACHED_PATHS, pages),
            FRONTEND_PATH: behavior(
                frontend_origin,
                cloudfront.CachePolicy.CACHING_DISABLED,
                cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                methods=get_head,
            ),
        }

        self.logs = s3.Bucket(
            self,
            "Logs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # CloudFront's standard logs are written with an ACL.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.logs,
            "AwsSolutions-S1",
            "This bucket receives CloudFront's access logs; logging the log "
            "bucket would only log log deliveries.",
        )
        certificate = None
        if config.certificate_arn:
            certificate = acm.Certificate.from_certificate_arn(
                self, "Certificate", config.certificate_arn
            )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Northwind Goods",
            default_behavior=pages,
            additional_behaviors=behaviors,
            domain_names=[config.domain_name] if config.domain_name else None,
            certificate=certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            web_acl_id=web_acl_arn,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cloudfront/",
            enable_ipv6=True,
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "The shop sells to any country; the viewer's country is forwarded "
            "for analytics, not used to refuse visitors.",
        )
        if not config.certificate_arn:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR4",
                "Without a domain and certificate (context domainName, "
                "certificateArn) CloudFront's own certificate allows TLS 1.0; "
                "a production deploy sets both and gets TLS 1.2 (2021).",
            )
        if not config.origin_https:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR5",
                "Without albCertificateArn CloudFront reaches the ALB over "
                "HTTP on AWS's network, gated by the origin secret; production "
                "sets the certificate and the origin is HTTPS only.",
            )
        CfnOutput(self, "DistributionDomain", value=self.distribution.domain_name)
        CfnOutput(self, "DistributionId", value=self.distribution.distribution_id)
