"""Prompts in the caller's language: compiled catalogs and CLDR formatting, built once."""
from __future__ import annotations

import io
import re
from datetime import datetime, time
from functools import cached_property
from importlib import resources

from babel import Locale
from babel.dates import (format_date, format_time, get_datetime_format, get_relative_name,
                         get_timezone_location, match_skeleton)
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


# Where spoken times differ from CLDR's written forms. CLDR supplies every name, am/pm marker and
# "at" connective not listed here. Keys, each optional:
#   clock     skeletons or patterns for a whole hour and for hour with minutes; default ("H", "Hm")
#   at        "{1} at {0}" where CLDR has no atTime (relative) pattern or its one is not what is said
#   at_one    the same for one o'clock, which some languages say in the singular
#   relative  the same after "today"/"tomorrow", where that differs from `at`
#   on        how a weekday is said as "on Monday": one pattern, or seven from Monday
#   case      a (suffix, replacement) putting the weekday in the case `on` governs
#   close     end an appositive date ("Monday, 7 December") with a comma before the time
#   date      the weekday-day-month pattern, where CLDR's written one is not what is said
#   today     the word for "today" where CLDR's is too casual for a support line
#   one       the word for the hour one, said alone ("all'una")
_SPEECH: dict[str, dict] = {
    # English says "8 AM" even where it writes 08:00 (en-GB, en-SG), and "on Monday" (British and
    # Singaporean callers expect the "on"; American English allows it).
    "en": {"clock": ("h", "hm"), "on": "on {0}"},
    # German says a time with its "Uhr" ("8:30 Uhr", acht Uhr dreißig); CLDR writes 08:30. Weekdays
    # take "am", and the date is an apposition with its article, closed by a comma ("am Montag, dem
    # 7. Dezember, um 8 Uhr"): the article also makes the voice read the ordinal.
    "de": {"clock": ("H", "H:mm 'Uhr'"), "on": "am {0}", "close": True, "date": "EEEE, 'dem' d. MMMM"},
    # French says "8 h", "8 h 30" ("huit heures trente"); fr-FR's written 08:00 is not said.
    "fr": {"clock": ("H 'h'", "H 'h' mm")},
    # CLDR has no Spanish atTime pattern; "a las 8", but "a la 1". On the phone the hour goes with
    # its part of the day ("a las 2 de la tarde", CLDR's flexible day periods), in Spain and the
    # Americas alike, and a date is said without the written commas ("el martes 15 de diciembre").
    "es": {"clock": ("h B", "h:mm B"), "at": "{1} a las {0}", "at_one": "{1} a la {0}", "on": "el {0}",
           "date": "EEEE d 'de' MMMM"},
    # CLDR's "alle ore 8" is bureaucratic; one says "alle 8", and "all'una".
    "it": {"at": "{1} alle {0}", "at_one": "{1} all’{0}", "one": "una"},
    # Brazilian "8h", "8h30"; "à 1h" is singular; weekdays -feira are feminine, sábado/domingo not.
    "pt": {"clock": ("H'h'", "H'h'mm"), "at_one": "{1} à {0}",
           "on": ("na {0}",) * 5 + ("no {0}",) * 2, "close": True},
    # A Russian agent says "в 8 утра", "с 8 утра до 5 дня" (CLDR's day periods, spelt out): "8:00" is
    # read as "восемь ноль-ноль", a timetable's voice. "в" takes the accusative (среда -> в среду)
    # and becomes "во" before вторник.
    "ru": {"clock": ("h BBBB", "h:mm BBBB"), "on": ("в {0}", "во {0}") + ("в {0}",) * 5, "case": ("а", "у"),
           "close": True},
    # Spoken Japanese uses 午前/午後 and 8時30分, not 8:30; no space between words; "明日午前8時"
    # but "月曜日の午前8時"; a support line says 本日, not the casual 今日.
    "ja": {"clock": ("h", "aK時mm分"), "at": "{1}の{0}", "relative": "{1}{0}", "today": "本日"},
    # Spoken Chinese counts hours with 点 (时 is written) and says 8点30分; CLDR's flexible day
    # periods (B) give 晚上8点 and 中午12点 where am/pm would say 下午. No spaces between words.
    "zh": {"clock": ("Bh点", "Bh点mm分"), "at": "{1}{0}"},
}


def _spoken(text: str) -> str:
    """Return text with CLDR's (narrow) no-break spaces made plain: typography means nothing aloud."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


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
        if "date" in self._speech:
            return self._speech["date"]
        skeletons = self.locale.datetime_skeletons
        pattern = str(skeletons[match_skeleton("MMMMEEEEd", skeletons)].pattern)
        return re.sub(r"E+|c+", "EEEE", pattern)

    @property
    def _speech(self) -> dict:
        return _SPEECH.get(self.language, {})

    def clock(self, t: time) -> str:
        """Say a time of day as this language speaks it, e.g. '8 AM', '8 Uhr', '8 h 30'."""
        whole, minutes = self._speech.get("clock", ("H", "Hm"))
        form = whole if t.minute == 0 else minutes
        skeletons = self.locale.datetime_skeletons
        pattern = skeletons[form].pattern if form in skeletons else form
        # Speech never zero-pads the hour: "08 Uhr" is written, "8 Uhr" is said.
        pattern = re.sub(r"HH|hh|KK|kk", lambda m: m[0][0], pattern)
        said = _spoken(format_time(t.replace(tzinfo=None), pattern, locale=self.locale))
        one = self._speech.get("one")
        if one and said == "1":
            return one
        return said

    def _on(self, moment: datetime) -> tuple[str, str]:
        """Return the weekday as CLDR writes it and as said for "on that day"."""
        weekday = format_date(moment, "EEEE", locale=self.locale)
        said = weekday
        suffix, replacement = self._speech.get("case", ("", ""))
        if suffix and said.endswith(suffix):
            said = said[: -len(suffix)] + replacement
        on = self._speech.get("on", "{0}")
        return weekday, (on if isinstance(on, str) else on[moment.weekday()]).format(said)

    def when(self, moment: datetime, now: datetime | None = None) -> str:
        """Say when something happens, e.g. 'tomorrow at 8 AM', 'am Montag um 8 Uhr'."""
        # Without `now` the moment counts as today's; callers that know the time should pass it.
        now = moment if now is None else now
        if moment.tzinfo is not None and now.tzinfo is not None:
            now = now.astimezone(moment.tzinfo)
        days = (moment.date() - now.date()).days
        speech = self._speech
        relative = get_relative_name("day", days, locale=self.locale) if days in (0, 1) else None
        if days == 0 and "today" in speech:
            relative = speech["today"]
        dated = not relative and not 2 <= days <= 6
        if relative:
            day = relative
        else:
            weekday, day = self._on(moment)
            if dated:
                day = format_date(moment, self._date_pattern, locale=self.locale).replace(weekday, day, 1)
        clock = self.clock(moment.time())
        # The singular "at one" goes with the hour said as one: 1:00, and 13:00 on a 12-hour clock.
        pattern = ((speech.get("at_one") if re.match(r"(1|una)(?!\d)", clock) else None)
                   or (speech.get("relative") if relative else None)
                   or speech.get("at")
                   or self.locale.datetime_formats_relative.get("full")
                   or get_datetime_format("full", locale=self.locale))
        pattern = str(pattern).replace("'", "")
        if dated and speech.get("close"):
            pattern = pattern.replace("{1}", "{1},", 1)
        return _spoken(pattern.format(clock, day))

    def zone_city(self, zone: str) -> str:
        """Name an IANA zone by its city in this language, for "8 AM London time"."""
        return get_timezone_location(zone, locale=self.locale, return_city=True)

    def language_name(self, language: str) -> str:
        return Locale.parse(language).get_language_name(self.locale) or language

    def plan_name(self, plan: str) -> str:
        return self.text(prompts.PLAN_NAMES[plan]) if plan in prompts.PLAN_NAMES else plan


def spaced_digits(number: str) -> str:
    """Return a number spaced so text-to-speech reads it digit by digit."""
    return " ".join(number)
