"""The app factory: configuration, extensions and blueprints bound once, nothing connected."""
from __future__ import annotations

import os
from dataclasses import dataclass

import redis
from flask import Flask
from twilio.request_validator import RequestValidator

from .config import load_settings
from .voice.hold import hold_clip
from .voice.security import BodyLimit, TrustedProxies
from .voice.speech import Catalogs
from .wiring import Services


class MissingAuthToken(RuntimeError):
    pass


@dataclass
class WebServices(Services):
    """What the webhooks use besides the common services, built once per process by the factory."""

    catalogs: Catalogs | None = None
    validator: RequestValidator | None = None
    allow_at: bool = False
    """Whether a signed request may name the moment to route at (demo and `ivr call` only)."""


def build(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        TWILIO_AUTH_TOKEN=os.environ.get("TWILIO_AUTH_TOKEN"),
        TWILIO_ACCOUNT_SID=os.environ.get("TWILIO_ACCOUNT_SID"),
        # The staff console: sessions signed with IVR_SECRET_KEY (without it the console is off, the
        # webhooks are not); its softphone's access tokens signed with an API key of the account.
        IVR_SECRET_KEY=os.environ.get("IVR_SECRET_KEY"),
        TWILIO_API_KEY=os.environ.get("TWILIO_API_KEY"),
        TWILIO_API_SECRET=os.environ.get("TWILIO_API_SECRET"),
        # The case system's directory API (/api/): off without a bearer token of at least 32 characters.
        IVR_API_TOKEN=os.environ.get("IVR_API_TOKEN"),
        REDIS_URL=os.environ.get("REDIS_URL"),
        IVR_CONFIG=os.environ.get("IVR_CONFIG") or None,
        SETTINGS=None,
        ALLOW_AT=False,
        STRICT=False,
    )
    if config:
        app.config.update(config)
    token = app.config["TWILIO_AUTH_TOKEN"]
    if not token:
        raise MissingAuthToken("TWILIO_AUTH_TOKEN is not set: without it no webhook can be verified")
    if not app.config["REDIS_URL"]:
        raise RuntimeError("REDIS_URL is not set (ivr serve sets it, starting the embedded Redis)")
    settings = app.config["SETTINGS"] or load_settings(app.config["IVR_CONFIG"])
    # Nothing connects until first used.
    services = WebServices.for_webhooks(settings, app.config["REDIS_URL"], catalogs=Catalogs(),
                                        validator=RequestValidator(token), allow_at=bool(app.config["ALLOW_AT"]))
    app.extensions["ivr"] = services
    # Twilio's requests are a few KB: a larger body is refused before anything reads it.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_body
    if not settings.hold_music:
        hold_clip()  # synthesised once at start-up, not on the first caller's hold
    if settings.trusted_proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.trusted_proxies)
    app.wsgi_app = BodyLimit(app.wsgi_app, settings.max_body)

    from .api import init_app as init_api
    from .console import init_app as init_console
    from .voice import bp as voice
    from .voice.hold import audio

    app.register_blueprint(voice)
    app.register_blueprint(audio)
    init_console(app, settings)
    init_api(app, settings)

    @app.get("/healthz")
    def healthz():
        """Say whether the service runs and whether Redis answers: 200 either way, the calls still do."""
        up = redis_up()
        return {"status": "ok" if up else "degraded", "redis": "up" if up else "down"}

    @app.get("/readyz")
    def readyz():
        """Tell a load balancer whether this instance can route calls fully (503 while Redis is down)."""
        up = redis_up()
        return {"ready": up}, 200 if up else 503

    def redis_up() -> bool:
        # An open breaker already knows; otherwise one PING on a connection of its own.
        if services.breaker.open:
            return False
        if services.ping():
            return True
        services.breaker.failure(redis.ConnectionError("health check PING failed"))
        return False

    return app
