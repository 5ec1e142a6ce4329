"""Cognito: creating users, signing them in, and verifying their IdTokens against the pool's JWKS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aperture.errors import InvalidInputError, UnauthorizedError, UsernameTakenError

if TYPE_CHECKING:
    import jwt

USER_ID_CLAIM = "custom:user_id"


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str
    expires_in: int


class IdentityProvider:
    def __init__(self, client: Any, user_pool_id: str, client_id: str) -> None:
        self._cognito = client
        self._pool = user_pool_id
        self._client_id = client_id

    def create_user(self, username: str, password: str, email: str, user_id: int) -> None:
        try:
            self._cognito.admin_create_user(
                UserPoolId=self._pool,
                Username=username,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": USER_ID_CLAIM, "Value": str(user_id)},
                ],
                MessageAction="SUPPRESS",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "UsernameExistsException":
                raise UsernameTakenError(f"the username {username!r} is taken") from error
            raise
        try:
            self._cognito.admin_set_user_password(
                UserPoolId=self._pool, Username=username, Password=password, Permanent=True
            )
        except ClientError as error:
            self.delete_user(username)
            if error.response["Error"]["Code"] == "InvalidPasswordException":
                raise InvalidInputError(error.response["Error"]["Message"]) from error
            raise

    def delete_user(self, username: str) -> None:
        self._cognito.admin_delete_user(UserPoolId=self._pool, Username=username)

    def authenticate(self, username: str, password: str) -> Tokens:
        try:
            result = self._cognito.admin_initiate_auth(
                UserPoolId=self._pool,
                ClientId=self._client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )["AuthenticationResult"]
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NotAuthorizedException", "UserNotFoundException"}:
                raise UnauthorizedError("wrong username or password") from error
            raise
        return Tokens(
            id_token=result["IdToken"],
            access_token=result["AccessToken"],
            refresh_token=result.get("RefreshToken", ""),
            expires_in=int(result["ExpiresIn"]),
        )

    def refresh(self, refresh_token: str) -> Tokens:
        """New IdToken and access token for a refresh token (which stays the same and is not returned)."""
        try:
            result = self._cognito.admin_initiate_auth(
                UserPoolId=self._pool,
                ClientId=self._client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
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
