"""
The Cognito user pool and app client, as `manage.py cognito_bootstrap`
makes them: same names, same password policy (imported, not copied), the
`staff` and `admin` groups, and a hosted-UI domain for the PKCE flow.
"""

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.config import Config
from infra.nag import acknowledge


class AuthStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: Config, **kwargs):
        super().__init__(scope, id, **kwargs)
        from django.conf import settings

        from accounts.services import PASSWORD_POLICY

        policy = PASSWORD_POLICY
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=settings.COGNITO_POOL_NAME,
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            self_sign_up_enabled=True,
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
                fullname=cognito.StandardAttribute(required=False, mutable=True),
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=policy["MinimumLength"],
                require_uppercase=policy["RequireUppercase"],
                require_lowercase=policy["RequireLowercase"],
                require_digits=policy["RequireNumbers"],
                require_symbols=policy["RequireSymbols"],
                temp_password_validity=Duration.days(
                    policy["TemporaryPasswordValidityDays"]
                ),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "Shoppers may add TOTP but are not forced to; staff accounts are "
            "few and docs/deploy.md has them enrol TOTP at first sign-in.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "Threat protection needs the Plus feature plan, priced per active "
            "user; the site's own per-IP and per-account sign-in limits stand "
            "in for it (docs/well-architected.md, risk list).",
        )
        for group, description in (
            (settings.COGNITO_STAFF_GROUP, "Dashboards and data operations"),
            (settings.COGNITO_ADMIN_GROUP, "Django admin (is_superuser)"),
        ):
            cognito.CfnUserPoolGroup(
                self,
                f"Group{group.title()}",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=group,
                description=description,
            )
        self.domain = self.user_pool.add_domain(
            "HostedUi",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=config.auth_domain_prefix
            ),
        )
        site = config.site_url or "http://localhost:8000"
        self.client = self.user_pool.add_client(
            "WebClient",
            user_pool_client_name=settings.COGNITO_CLIENT_NAME,
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            read_attributes=cognito.ClientAttributes().with_standard_attributes(
                email=True, email_verified=True, fullname=True
            ),
            write_attributes=cognito.ClientAttributes().with_standard_attributes(
                email=True, fullname=True
            ),
            o_auth=cognito.OAuthSettings(
                # Authorization code; the site sends a PKCE challenge (S256).
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[
                    cognito.OAuthScope.OPENID,
                    cognito.OAuthScope.EMAIL,
                    cognito.OAuthScope.PROFILE,
                ],
                callback_urls=[f"{site}/accounts/hosted/callback/"],
                logout_urls=[f"{site}/"],
            ),
            supported_identity_providers=[
                cognito.UserPoolClientIdentityProvider.COGNITO
            ],
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        self.hosted_ui_url = self.domain.base_url()
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "ClientId", value=self.client.user_pool_client_id)
        CfnOutput(self, "HostedUiUrl", value=self.hosted_ui_url)
