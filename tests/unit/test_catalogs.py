"""Every prompt exists in all nine catalogs, complete, and renders with its placeholders filled."""
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from ivr.voice import prompts
from ivr.voice.speech import compile_catalog, Catalogs
from ivr.voice.voices import VOICES
from routing.model import LANGUAGES

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def all_msgids():
    singles = [prompts.LANGUAGE_OPTION, prompts.WELCOME, prompts.LANGUAGE_NOT_OFFERED, prompts.CONTINUING_IN_LANGUAGE,
               prompts.ASK_CASE,
               prompts.CASE_MALFORMED, prompts.CASE_NO_INPUT, prompts.CASE_UNKNOWN, prompts.CONNECTING_ENGINEER,
               prompts.ENGINEER_UNAVAILABLE, prompts.ENTERING_QUEUE, prompts.OVERFLOW_TO_ENGLISH,
               prompts.OVERFLOW_OTHER, prompts.QUEUE_NEXT, prompts.OFFER_CALLBACK, prompts.CALLBACK_RECORDED,
               prompts.LONG_WAIT, prompts.QUEUE_FAILED, prompts.TECHNICAL_TROUBLE, prompts.WHISPER,
               prompts.HELD_FOR_ENGINEER, prompts.CALLER_CONNECTING, prompts.OFFER_ACCEPT, prompts.OFFER_CONNECTING,
               prompts.OFFER_NOT_TAKEN, prompts.OFFER_CALLER_GONE, prompts.CALLBACK_CONFIRM_NUMBER,
               prompts.CALLBACK_ENTER_NUMBER, prompts.CALLBACK_NUMBER_INVALID, prompts.CALLBACK_CONFIRMED,
               prompts.CALLBACK_CONFIRMED_NO_CASE, prompts.QUEUE_FULL_CALLBACK, prompts.OUTSIDE_HOURS_CALLBACK_OFFER,
               prompts.OUTSIDE_HOURS_CALLBACK_RECORDED, prompts.CALLBACK_GREETING, prompts.CALLBACK_WHISPER,
               prompts.CALLBACK_NO_ANSWER, prompts.PORTAL_SMS_OFFER, prompts.PORTAL_SMS_SENT,
               prompts.PORTAL_SMS_ALREADY_SENT, prompts.OFFER_MANAGER, prompts.MANAGER_REQUESTED,
               prompts.WELCOME_PARTNER, prompts.ASK_CASE_AGAIN, prompts.CASE_READ_BACK, prompts.CASE_CLOSED_TRY_ANOTHER,
               prompts.OUTSIDE_HOURS_ZONE, prompts.PLAN_HOURS_WEEKDAYS, prompts.PORTAL_ANY_TIME, prompts.REPEAT_OFFER,
               prompts.GOODBYE, prompts.TOO_MANY_TRIES]
    texted = [prompts.CASE_CANCELLED_SMS, prompts.PORTAL_SMS_NEW_CASE, prompts.PORTAL_SMS_CLOSED_CASE,
              prompts.PORTAL_SMS_PORTAL, prompts.PORTAL_SMS_RENEWAL]
    return (singles + texted + list(prompts.WELCOME_REGION.values()) + list(prompts.REFUSED.values())
            + list(prompts.PLAN_NAMES.values()))


def catalog(language):
    with open(f"locales/{language}/LC_MESSAGES/messages.po", "rb") as fh:
        return read_po(fh, locale=language)


def test_the_template_holds_exactly_the_prompts_the_code_speaks():
    with open("locales/messages.pot", "rb") as fh:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    spoken = set(all_msgids()) | {prompts.QUEUE_AHEAD[0], prompts.EXPECTED_WAIT[0]}
    assert template == spoken


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_no_missing_empty_or_fuzzy_entry(language):
    entries = [m for m in catalog(language) if m.id]
    problems = [m.id for m in entries
                if m.fuzzy or not m.string or (isinstance(m.string, tuple) and not all(m.string))]
    assert problems == []
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in entries}
    assert ids == {m.id if isinstance(m.id, str) else m.id[0] for m in catalog("en") if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder_of_the_english(language):
    for message in catalog(language):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[1]
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        for target in targets:
            assert set(PLACEHOLDER.findall(target)) == set(PLACEHOLDER.findall(source)), (language, source)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_translations_are_not_left_in_english(language):
    translated = {m.id: m.string for m in catalog(language) if m.id and isinstance(m.id, str)}
    untouched = [msgid for msgid, text in translated.items()
                 if text == msgid and msgid not in prompts.PLAN_NAMES.values()]
    assert untouched == []


VALUES = {"key": 3, "case": "0 7 1 2 3 4 5 6", "portal": "support.example.com", "email": "support@example.com",
          "engineer": "Anna Weber", "plan": "Premium", "severity": 2, "language": "Deutsch",
          "number": "+ 4 4 2 0 7 9 4 6 0 1 0 0", "company": "Contoso", "renewals": "renewals@example.com",
          "city": "London", "opens": "8 AM", "closes": "5 PM"}


@pytest.mark.parametrize("region,language", sorted(VOICES))
def test_every_prompt_renders_in_every_language_with_placeholders_filled(region, language):
    speaker = Catalogs([language]).speaker(region, language)
    when = speaker.when(datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    for msgid in all_msgids():
        text = speaker.text(msgid, **VALUES, when=when)
        assert text.strip()
        assert "%(" not in text
    for count in (1, 2, 5, 21):
        for forms in (prompts.QUEUE_AHEAD, prompts.EXPECTED_WAIT):
            text = speaker.plural(forms, count)
            assert str(count) in text


def test_a_catalog_with_a_missing_entry_refuses_to_compile(tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "locales"
    shutil.copytree("locales", root)
    po = root / "de" / "LC_MESSAGES" / "messages.po"
    text = po.read_text()
    po.write_text(re.sub(r'msgstr "Für[^"]*"', 'msgstr ""', text, count=1))
    import importlib.resources as resources

    monkeypatch.setattr(resources, "files", lambda package: root)
    with pytest.raises(LookupError, match="locales/de"):
        compile_catalog("de")
