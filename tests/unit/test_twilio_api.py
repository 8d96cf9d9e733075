"""The Twilio REST stand-in answers the real twilio-python client the way Twilio does."""
from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

ACCOUNT = "AC" + "0" * 32
KEY = "SK" + "1" * 32
QUEUE = "QU" + "2" * 32


@pytest.fixture
def client(twilio_api):
    """Build the client the way the service does, pointed at the stand-in."""
    client = Client(username=KEY, password="secret", account_sid=ACCOUNT)
    client.api.base_url = twilio_api.url
    return client


def create_call(client):
    return client.calls.create(
        to="+4930123456", from_="+4930999999", url="https://ivr.example/dial", method="POST",
        status_callback="https://ivr.example/status", status_callback_method="POST",
        status_callback_event=["initiated", "answered", "completed"], timeout=20)


def test_creating_a_call_records_the_form_and_answers_a_queued_call(twilio_api, client):
    call = create_call(client)

    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert (call.status, call.to, call.account_sid) == ("queued", "+4930123456", ACCOUNT)
    [sent] = twilio_api.requests("Calls.json", method="POST")
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert (sent["To"], sent["From"], sent["Url"], sent["Timeout"]) == (
        "+4930123456", "+4930999999", "https://ivr.example/dial", "20")
    assert sent.getlist("StatusCallbackEvent") == ["initiated", "answered", "completed"]
    assert sent.user == KEY


def test_a_scripted_429_raises_once_and_the_next_request_succeeds(twilio_api, client):
    twilio_api.fail("Calls.json", status=429, retry_after=1)

    with pytest.raises(TwilioRestException) as refused:
        create_call(client)
    assert refused.value.status == 429
    assert create_call(client).status == "queued"
    assert len(twilio_api.requests("Calls.json")) == 2


def test_updating_a_live_call_and_member_answers_200(twilio_api, client):
    call = client.calls("CA" + "3" * 32).update(twiml="<Response><Hangup/></Response>")
    member = client.queues(QUEUE).members(call.sid).update(url="https://ivr.example/q",
                                                           method="POST")

    assert call.status == "in-progress"
    assert (member.call_sid, member.queue_sid, member.position) == (call.sid, QUEUE, 1)
    assert twilio_api.requests("/Calls/")[0]["Twiml"] == "<Response><Hangup/></Response>"
    assert twilio_api.requests("Members")[0]["Url"] == "https://ivr.example/q"


def test_a_hung_up_call_is_no_longer_a_queue_member(twilio_api, client):
    sid = "CA" + "4" * 32
    twilio_api.hang_up(sid)

    with pytest.raises(TwilioRestException) as gone:
        client.queues(QUEUE).members(sid).update(url="https://ivr.example/q", method="POST")
    assert (gone.value.status, gone.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as ended:
        client.calls(sid).update(url="https://ivr.example/q", method="POST")
    assert (ended.value.status, ended.value.code) == (400, 21220)


def test_an_unknown_path_answers_a_twilio_style_404(twilio_api, client):
    with pytest.raises(TwilioRestException) as missing:
        client.api.v2010.account.queues(QUEUE).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_wait_for_times_out_listing_what_it_received(twilio_api, client):
    create_call(client)

    with pytest.raises(AssertionError, match=r"(?s)matching 'Members'.*got 0.*POST .*/Calls\.json"):
        twilio_api.wait_for("Members", timeout=0.1)
    assert len(twilio_api.wait_for(lambda r: r.get("To") == "+4930123456")) == 1


def test_sending_a_text_message_answers_201_with_an_sm_sid_and_records_the_form(twilio_api, client):
    message = client.messages.create(to="+4915112345678", from_="+442079460100", body="Fall 07123456: Portal")

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.from_, message.body) == (
        "queued", "+4915112345678", "+442079460100", "Fall 07123456: Portal")
    [sent] = twilio_api.requests("/Messages.json", method="POST")
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert (sent["To"], sent["From"], sent["Body"]) == ("+4915112345678", "+442079460100", "Fall 07123456: Portal")


def test_a_scripted_failure_refuses_a_text_message_as_twilio_refuses_a_landline(twilio_api, client):
    twilio_api.fail("/Messages.json", 400, code=21614, message="'To' number is not a valid mobile number")

    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to="+442079460000", from_="+442079460100", body="hello")
    assert (refused.value.status, refused.value.code) == (400, 21614)
    assert client.messages.create(to="+4915112345678", from_="+442079460100", body="hello").sid.startswith("SM")
