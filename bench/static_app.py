#!/usr/bin/env python
"""The baseline: a static TwiML endpoint in the style of Twilio's own samples, under `ivr serve`'s gunicorn.

    python bench/static_app.py --port 5099 [--workers 2]

Twilio's quick-start answers a call with a Flask view that builds fixed TwiML with twilio-python:
no signature check, no store. That is all this app does (POST or GET /answer). It is run with the
very gunicorn settings `ivr serve` uses (`ivr.cli.serve.gunicorn_options`: gthread workers, threads,
access log, timeouts), so a webhook's cost divided by this one's is the app's own cost, not the server's.
"""
from __future__ import annotations

import argparse

from flask import Flask
from twilio.twiml.voice_response import VoiceResponse

app = Flask(__name__)


@app.route("/answer", methods=["GET", "POST"])
def answer_call():
    """Respond to an incoming phone call with a brief message (Twilio's sample, word for word but the voice)."""
    resp = VoiceResponse()
    resp.say("Thank you for calling! Have a great day.", voice="Polly.Amy")
    return str(resp), 200, {"Content-Type": "text/xml"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the baseline listens on loopback only")

    from ivr.cli.serve import Server, gunicorn_options
    from ivr.config import load_settings
    from ivr.logs import configure

    configure()  # as `ivr serve` does before starting gunicorn
    Server(lambda: app, gunicorn_options(load_settings(None), args.host, args.port, args.workers)).run()


if __name__ == "__main__":
    main()
