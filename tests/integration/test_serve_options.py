"""What `ivr serve` tells gunicorn: trust, control socket (issue 6, items 6 and 12)."""
from gunicorn.config import Config

from ivr.cli.serve import gunicorn_options
from tests.integration.webhook_support import settings_with


def _gunicorn(settings) -> Config:
    config = Config()
    for key, value in gunicorn_options(settings, "127.0.0.1", 5000, 1).items():
        config.set(key, value)
    return config


def test_gunicorn_trusts_forwarded_headers_from_no_address_by_default():
    assert _gunicorn(settings_with()).forwarded_allow_ips == []


def test_gunicorn_trusts_forwarded_headers_from_the_configured_proxies_only():
    config = _gunicorn(settings_with(proxy={"trusted": ["10.1.2.3", "192.168.0.0/24"]}))

    assert config.forwarded_allow_ips == ["10.1.2.3", "192.168.0.0/24"]


def test_no_shared_control_socket_is_opened_in_the_home_directory():
    assert _gunicorn(settings_with()).control_socket_disable is True
