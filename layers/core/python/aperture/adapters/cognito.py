"""Cognito: creating users, signing them in and out (server-side, as a confidential client), their TOTP second
factor, and verifying their IdTokens against the pool's JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from aperture.errors import (
    ForbiddenError,
    InvalidInputError,
    MfaRequiredError,
    UnauthorizedError,
    UsernameTakenError,
)

if TYPE_CHECKING:
    import jwt

USER_ID_CLAIM = "custom:user_id"
# The API's refresh token: this prefix, then base64url of {"u": Cognito username, "r": Cognito's refresh token}.
# A confidential client's refresh needs a SECRET_HASH computed over the username, and POST /auth/refresh receives
# only the refresh token, so the token carries the username with it. Nothing in it is secret beyond Cognito's own
# token, and it needs no signature: Cognito binds its token to its user, so a changed username is simply refused.
REFRESH_TOKEN_PREFIX = "ap1."  # noqa: S105 (a format marker, not a secret)
# What authenticator apps show as the account's issuer.
TOTP_ISSUER = "Aperture"


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_uri: str


def wrap_refresh_token(username: str, cognito_token: str) -> str:
    payload = json.dumps({"u": username, "r": cognito_token}, separators=(",", ":")).encode()
    return REFRESH_TOKEN_PREFIX + base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def unwrap_refresh_token(token: str) -> tuple[str, str]:
    """(username, Cognito's refresh token) from the API's refresh token; 401 for anything else."""
    if not token.startswith(REFRESH_TOKEN_PREFIX):
        raise UnauthorizedError("the refresh token is not valid; sign in again")
    body = token.removeprefix(REFRESH_TOKEN_PREFIX)
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        username, cognito_token = payload["u"], payload["r"]
    except (ValueError, KeyError, TypeError) as error:
        raise UnauthorizedError("the refresh token is not valid; sign in again") from error
    if not isinstance(username, str) or not isinstance(cognito_token, str) or not username or not cognito_token:
        raise UnauthorizedError("the refresh token is not valid; sign in again")
    return username, cognito_token


def secret_hash(client_secret: str, client_id: str, username: str) -> str:
    """Cognito's SECRET_HASH: Base64(HMAC-SHA256(key = client secret, message = username + client id))."""
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _username_of(id_token: str) -> str:
    # The IdToken comes straight from Cognito over TLS; only its username is read, to bind the refresh token to it.
    return str(unverified_claims(id_token)["cognito:username"])


def unverified_claims(id_token: str) -> dict[str, Any]:
    """The claims of a token that came straight from Cognito (not verified: nothing else could have sent it)."""
    payload = id_token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


class IdentityProvider:
    def __init__(self, client: Any, user_pool_id: str, client_id: str) -> None:
        self._cognito = client
        self._pool = user_pool_id
        self._client_id = client_id
        self._secret: str | None = None
        self._secret_lock = threading.Lock()

    def _client_secret(self) -> str:
        """The app client's secret, read from Cognito once per process: it is never in the function's environment
        (where anyone who can read the function's configuration could see it), only in memory."""
        if self._secret is None:
            with self._secret_lock:
                if self._secret is None:
                    described = self._cognito.describe_user_pool_client(UserPoolId=self._pool, ClientId=self._client_id)
                    self._secret = str(described["UserPoolClient"]["ClientSecret"])
        return self._secret

    def _hash(self, username: str) -> str:
        return secret_hash(self._client_secret(), self._client_id, username)

    def create_user(self, username: str, password: str, email: str, user_id: int) -> None:
        """A confirmed user with this password. The password is first the temporary one (Cognito checks it against
        the pool's policy before the user exists), then made permanent by answering the NEW_PASSWORD_REQUIRED
        challenge with it: no AdminSetUserPassword, which could set anyone's password."""
        try:
            self._cognito.admin_create_user(
                UserPoolId=self._pool,
                Username=username,
                TemporaryPassword=password,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": USER_ID_CLAIM, "Value": str(user_id)},
                ],
                MessageAction="SUPPRESS",
            )
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "UsernameExistsException":
                raise UsernameTakenError(f"the username {username!r} is taken") from error
            if code == "InvalidPasswordException":
                raise InvalidInputError(error.response["Error"]["Message"]) from error
            raise
        self._confirm(username, password)

    def resume_sign_up(self, username: str, password: str) -> int:
        """The user id of the Cognito user an earlier sign-up of `username` left without a profile, for the person
        who knows its password (so a retry with the same username and password resumes it); UsernameTakenError for
        anyone else. Whether it has a profile already is the profile write's to find out."""
        try:
            return self._confirm(username, password)
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NotAuthorizedException", "UserNotFoundException"}:
                raise UsernameTakenError(f"the username {username!r} is taken") from error
            raise

    def _confirm(self, username: str, password: str) -> int:
        """Signs in with the password (answering NEW_PASSWORD_REQUIRED with the same password, which makes it
        permanent); the user's id, from the IdToken."""
        result = self._cognito.admin_initiate_auth(
            UserPoolId=self._pool,
            ClientId=self._client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password, "SECRET_HASH": self._hash(username)},
        )
        if result.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
            try:
                result = self._cognito.admin_respond_to_auth_challenge(
                    UserPoolId=self._pool,
                    ClientId=self._client_id,
                    ChallengeName="NEW_PASSWORD_REQUIRED",
                    Session=result["Session"],
                    ChallengeResponses={
                        "USERNAME": username,
                        "NEW_PASSWORD": password,
                        "SECRET_HASH": self._hash(username),
                    },
                )
            except ClientError as error:
                if error.response["Error"]["Code"] == "InvalidPasswordException":
                    raise InvalidInputError(error.response["Error"]["Message"]) from error
                raise
        if "AuthenticationResult" not in result:
            # A second factor: an account someone already uses, never a sign-up left half-made
            raise UsernameTakenError(f"the username {username!r} is taken")
        return int(unverified_claims(result["AuthenticationResult"]["IdToken"])[USER_ID_CLAIM])

    def delete_user(self, username: str) -> None:
        """For the erasure worker (its own grant): the auth function never deletes users."""
        self._cognito.admin_delete_user(UserPoolId=self._pool, Username=username)

    def _signed_in(self, result: dict[str, Any]) -> Tokens:
        tokens = result["AuthenticationResult"]
        return Tokens(
            id_token=tokens["IdToken"],
            access_token=tokens["AccessToken"],
            refresh_token=wrap_refresh_token(_username_of(tokens["IdToken"]), tokens["RefreshToken"]),
            expires_in=int(tokens["ExpiresIn"]),
        )

    def delete_user_if_present(self, username: str) -> bool:
        """Delete the user; False if there was none (a retried erasure)."""
        try:
            self.delete_user(username)
        except ClientError as error:
            if error.response["Error"]["Code"] == "UserNotFoundException":
                return False
            raise
        return True

    def authenticate(self, username: str, password: str) -> Tokens:
        """Tokens for a username and password; MfaRequiredError (with the challenge's session) when the account
        has a second factor, to be answered by `answer_totp`."""
        try:
            result = self._cognito.admin_initiate_auth(
                UserPoolId=self._pool,
                ClientId=self._client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password, "SECRET_HASH": self._hash(username)},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NotAuthorizedException", "UserNotFoundException"}:
                raise UnauthorizedError("wrong username or password") from error
            raise
        if result.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
            raise MfaRequiredError("enter the code from your authenticator app", session=result["Session"])
        if "AuthenticationResult" not in result:
            # NEW_PASSWORD_REQUIRED and the like: accounts made by sign-up never have them.
            raise UnauthorizedError(f"sign-in needs {result.get('ChallengeName')!r}, which the API does not offer")
        return self._signed_in(result)

    def answer_totp(self, username: str, session: str, code: str) -> Tokens:
        """Tokens for the second step of a sign-in: the session `authenticate` gave, and the authenticator's code."""
        try:
            result = self._cognito.admin_respond_to_auth_challenge(
                UserPoolId=self._pool,
                ClientId=self._client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=session,
                ChallengeResponses={
                    "USERNAME": username,
                    "SOFTWARE_TOKEN_MFA_CODE": code,
                    "SECRET_HASH": self._hash(username),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in {
                "CodeMismatchException",
                "ExpiredCodeException",
                "NotAuthorizedException",
                "UserNotFoundException",
                "ResourceNotFoundException",
            }:
                raise UnauthorizedError("the code or the sign-in session is not valid; sign in again") from error
            raise
        if "AuthenticationResult" not in result:
            raise UnauthorizedError("the code or the sign-in session is not valid; sign in again")
        return self._signed_in(result)

    def refresh(self, refresh_token: str) -> Tokens:
        """New IdToken and access token for the API's refresh token (which stays the same and is not returned)."""
        username, cognito_token = unwrap_refresh_token(refresh_token)
        try:
            result = self._cognito.admin_initiate_auth(
                UserPoolId=self._pool,
                ClientId=self._client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": cognito_token, "SECRET_HASH": self._hash(username)},
            )["AuthenticationResult"]
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NotAuthorizedException", "UserNotFoundException"}:
                raise UnauthorizedError("the refresh token is not valid; sign in again") from error
            raise
        return Tokens(
            id_token=result["IdToken"],
            access_token=result["AccessToken"],
            refresh_token="",
            expires_in=int(result["ExpiresIn"]),
        )

    def sign_out(self, username: str) -> None:
        """Revokes every refresh token of the user (all their devices); done already if the user is gone."""
        try:
            self._cognito.admin_user_global_sign_out(UserPoolId=self._pool, Username=username)
        except ClientError as error:
            if error.response["Error"]["Code"] != "UserNotFoundException":
                raise

    def _access_token_of(self, username: str, access_token: str) -> None:
        """The access token must be the signed-in user's own: TOTP calls act on whoever the token names."""
        # A refused access token is a bad field (422), not a bad session: the IdToken in the header is fine, and a
        # 401 would send clients to sign in again for what refreshing their tokens mends.
        try:
            owner = self._cognito.get_user(AccessToken=access_token)["Username"]
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NotAuthorizedException", "UserNotFoundException"}:
                raise InvalidInputError("the access token is not valid; refresh your tokens and try again") from error
            raise
        if owner.lower() != username.lower():
            raise ForbiddenError("the access token belongs to another account")

    def start_totp(self, username: str, access_token: str) -> TotpSetup:
        self._access_token_of(username, access_token)
        secret = self._cognito.associate_software_token(AccessToken=access_token)["SecretCode"]
        label = quote(f"{TOTP_ISSUER}:{username}")
        uri = f"otpauth://totp/{label}?secret={secret}&issuer={quote(TOTP_ISSUER)}&algorithm=SHA1&digits=6&period=30"
        return TotpSetup(secret=secret, otpauth_uri=uri)

    def enable_totp(self, username: str, access_token: str, code: str) -> None:
        """Checks a code from the authenticator against the secret `start_totp` gave, then requires it at sign-in."""
        self._access_token_of(username, access_token)
        try:
            verified = self._cognito.verify_software_token(AccessToken=access_token, UserCode=code)
        except ClientError as error:
            if error.response["Error"]["Code"] in {"CodeMismatchException", "EnableSoftwareTokenMFAException"}:
                raise InvalidInputError("the code does not match; check the authenticator app's clock") from error
            raise
        if verified.get("Status") != "SUCCESS":
            raise InvalidInputError("the code does not match; check the authenticator app's clock")
        self._cognito.set_user_mfa_preference(
            AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )


class TokenVerifier:
    """Checks an IdToken the way API Gateway's JWT authorizer does: signature, issuer, audience, expiry.

    Only the local gateway builds one (on AWS the authorizer verifies tokens), so PyJWT and its cryptography load
    here rather than with this module, which every API function imports for USER_ID_CLAIM."""

    def __init__(self, jwks_url: str, issuer: str, audience: str) -> None:
        import jwt

        self._jwks: jwt.PyJWKClient = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600)
        self._issuer = issuer
        self._audience = audience

    def verify(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise UnauthorizedError(f"invalid token: {error}") from error
        if claims.get("token_use") != "id":
            raise UnauthorizedError("an IdToken is required")
        return claims
