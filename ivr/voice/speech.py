"""Prompts in the caller's language: compiled catalogs and CLDR formatting, built once."""
from __future__ import annotations

import io
import re
from datetime import datetime
from functools import cached_property
from importlib import resources

from babel import Locale
from babel.dates import format_datetime, format_time, get_datetime_format, match_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from routing.model import LANGUAGES

from . import prompts
from .voices import Voice, voice_for


def compile_catalog(language: str) -> Translations:
    """Compile a language's .po catalog in memory; a missing entry is an error, not English."""
    po = resources.files("locales") / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    missing = [m.id for m in catalog if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)]
    if missing:
        raise LookupError(f"locales/{language}: {len(missing)} untranslated or fuzzy message(s), first: {missing[0]!r}")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain="messages")


class Catalogs:
    """The nine compiled catalogs, compiled once at start-up."""

    def __init__(self, languages=LANGUAGES):
        self.translations = {lang: compile_catalog(lang) for lang in languages}
        self._speakers: dict[tuple[str, str], Speaker] = {}

    def speaker(self, region: str, language: str) -> Speaker:
        """Return the (shared, immutable) speaker for a language on a region's line."""
        key = (region, language)
        if key not in self._speakers:
            self._speakers[key] = Speaker(self.translations[language], voice_for(region, language), language)
        return self._speakers[key]


class Speaker:
    """Say prompts in one language, in the voice of one line region."""

    def __init__(self, translations: Translations, voice: Voice, language: str):
        self.t, self.voice, self.language = translations, voice, language

    @cached_property
    def locale(self) -> Locale:
        return Locale.parse(self.voice.locale)

    def text(self, msgid: str, **params) -> str:
        return self.t.gettext(msgid) % params if params else self.t.gettext(msgid)

    def plural(self, forms: tuple[str, str], num: int, **params) -> str:
        return self.t.ngettext(forms[0], forms[1], num) % {"num": num, **params}

    @cached_property
    def _date_pattern(self) -> str:
        # CLDR's closest weekday-day-month pattern, with the weekday spelt out in full: the
        # year is noise on the phone, and "Mon" reads badly aloud.
        skeletons = self.locale.datetime_skeletons
        pattern = str(skeletons[match_skeleton("MMMMEEEEd", skeletons)].pattern)
        return re.sub(r"E+|c+", "EEEE", pattern)

    def when(self, moment: datetime) -> str:
        """Say a local date and time as this language does, e.g. 'Monday, November 30, 8:00 AM'."""
        date_text = format_datetime(moment, self._date_pattern, tzinfo=moment.tzinfo, locale=self.locale)
        time_text = format_time(moment, "short", tzinfo=moment.tzinfo, locale=self.locale)
        pattern = get_datetime_format("full", locale=self.locale).replace("'", "")
        return pattern.replace("{0}", time_text).replace("{1}", date_text)

    def language_name(self, language: str) -> str:
        return Locale.parse(language).get_language_name(self.locale) or language

    def plan_name(self, plan: str) -> str:
        return self.text(prompts.PLAN_NAMES[plan]) if plan in prompts.PLAN_NAMES else plan


def spaced_digits(number: str) -> str:
    """Return a number spaced so text-to-speech reads it digit by digit."""
    return " ".join(number)
