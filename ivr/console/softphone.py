"""Access tokens for the console's softphone: the Voice JavaScript SDK registers with one."""
from __future__ import annotations

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant
from werkzeug.exceptions import Conflict, ServiceUnavailable

from routing.model import Engineer

from .board import SOFTPHONE_VARIABLES

TOKEN_TTL = 3600
"""Seconds an access token is valid: the softphone asks for a new one before it runs out."""


def access_token(engineer: Engineer, credentials: dict) -> str:
    """Return a signed access token letting the engineer's Client identity receive calls.

    Raises Conflict (409) for an engineer without a Client identity and ServiceUnavailable (503)
    naming the variables missing on the server.
    """
    if not engineer.client:
        raise Conflict(f"Engineer {engineer.id} has no Twilio Client identity in the directory, so calls ring "
                       "their phone; the softphone needs a `client` in their record.")
    missing = [name for name in SOFTPHONE_VARIABLES if not credentials.get(name)]
    if missing:
        raise ServiceUnavailable(f"The softphone is off on this server: {', '.join(missing)} not set.")
    token = AccessToken(credentials["TWILIO_ACCOUNT_SID"], credentials["TWILIO_API_KEY"],
                        credentials["TWILIO_API_SECRET"], identity=engineer.client, ttl=TOKEN_TTL)
    token.add_grant(VoiceGrant(incoming_allow=True))
    return token.to_jwt()
