"""Who users are: the Cognito user pool and the one public client the API and apps sign in through."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from aperture.settings import Settings

from .nag import acknowledge

# The group whose members may use the /admin routes; the name is the one the functions look for by default.
MODERATORS = str(Settings.model_fields["moderator_group"].default)


class Identity(Construct):
    """Username sign-in, accounts created by the auth function (AdminCreateUser), `custom:user_id` in tokens."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            # Sign-up goes through POST /auth/signup, which allocates the user id first.
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=False,
            custom_attributes={"user_id": cognito.StringAttribute(min_len=1, max_len=20, mutable=False)},
            password_policy=cognito.PasswordPolicy(
                min_length=8,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(1),
            ),
            account_recovery=cognito.AccountRecovery.NONE,
            # Optional TOTP: accounts turn it on at POST /me/mfa/totp/verify; SMS is not offered.
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is optional, not required: each account may turn on TOTP (POST /me/mfa/totp/verify) and is then "
            "asked for a code at sign-in; requiring it of every account is a product decision not taken.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan (threat protection) is billed per monthly active user; the pool stays on "
            "Essentials and sign-in is rate limited by the API stage's throttling instead.",
        )
        self.moderators = cognito.CfnUserPoolGroup(
            self,
            "Moderators",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=MODERATORS,
            description="Members may use the /admin routes (IdTokens carry it in cognito:groups)",
        )
        self.client = self.user_pool.add_client(
            "Clients",
            # Password sign-in only through the auth function (ADMIN_USER_PASSWORD_AUTH, behind the API's throttles);
            # refresh is always on. The secret makes the client confidential: nobody without it (which only the
            # auth function reads, at run time) can call InitiateAuth with this client id directly.
            auth_flows=cognito.AuthFlow(admin_user_password=True),
            generate_secret=True,
            # Tokens come from the API (InitiateAuth), never from the hosted UI, so no OAuth flows or callbacks.
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
