"""The ceiling for this stack: a Flask app that verifies Twilio's signature and answers TwiML."""

from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

app = Flask(__name__)
validator = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", ""))
public_url = os.environ.get("PUBLIC_URL", "")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@app.post("/webhooks/twilio")
def twilio() -> Response:
    """Verify, answer empty TwiML: what any Twilio webhook must do at the least."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not validator.validate(public_url + request.path, request.form.to_dict(), signature):
        abort(403)
    return Response(EMPTY_TWIML, mimetype="text/xml")
