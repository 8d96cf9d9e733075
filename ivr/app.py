"""The app factory: configuration, extensions and blueprints bound once, nothing connected."""
from __future__ import annotations

import os
from dataclasses import dataclass

import redis
from flask import Flask
from rq import Queue
from twilio.request_validator import RequestValidator

from workers import QUEUE_NAME

from .calls import Calls
from .config import Settings, load_settings
from .hold import hold_clip
from .speech import Catalogs
from .security import TrustedProxies
from .store import Store, connect


class MissingAuthToken(RuntimeError):
    pass


@dataclass
class Services:
    """What the webhooks use, built once per process by the factory."""

    settings: Settings
    catalogs: Catalogs
    validator: RequestValidator
    redis: redis.Redis
    store: Store
    calls: Calls
    jobs: Queue
    allow_at: bool = False
    """Whether a signed request may name the moment to route at (demo and `ivr call` only)."""


def build(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        TWILIO_AUTH_TOKEN=os.environ.get("TWILIO_AUTH_TOKEN"),
        TWILIO_ACCOUNT_SID=os.environ.get("TWILIO_ACCOUNT_SID"),
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
    client = connect(app.config["REDIS_URL"])  # redis-py connects on first command, not here
    app.extensions["ivr"] = Services(
        settings=settings,
        catalogs=Catalogs(),
        validator=RequestValidator(token),
        redis=client,
        store=Store(client),
        calls=Calls(client, settings.state_ttl),
        # RQ pickles job data, so it needs a client that returns bytes.
        jobs=Queue(QUEUE_NAME, connection=connect(app.config["REDIS_URL"], decode=False)),
        allow_at=bool(app.config["ALLOW_AT"]),
    )
    if not settings.hold_music:
        hold_clip()  # synthesised once at start-up, not on the first caller's hold
    if settings.trusted_proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.trusted_proxies)

    from . import case, dial, language, queue, status

    for module in (language, case, dial, queue, status):
        app.register_blueprint(module.bp)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
