"""Spoken times: what a caller hears for "when", a time of day and a zone's city, in each language."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.support import Translations

from ivr.voice.speech import Speaker
from ivr.voice.voices import VOICES, voice_for

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=LONDON)  # a Monday morning
MOMENTS = [
    datetime(2026, 11, 30, 14, 0, tzinfo=LONDON),  # later the same day
    datetime(2026, 12, 1, 8, 0, tzinfo=LONDON),  # tomorrow
    datetime(2026, 12, 3, 8, 0, tzinfo=LONDON),  # in 3 days: Thursday
    datetime(2026, 12, 9, 8, 0, tzinfo=LONDON),  # in 9 days: Wednesday, with its date
    datetime(2026, 12, 1, 8, 30, tzinfo=LONDON),  # tomorrow, with minutes
]
# Thursday 24 December 2026, evening: the 25th and 26th are holidays and the 27th a Sunday,
# so the phones reopen on Monday the 28th, four days on.
CHRISTMAS_EVE = datetime(2026, 12, 24, 18, 0, tzinfo=LONDON)
REOPENING = datetime(2026, 12, 28, 8, 0, tzinfo=LONDON)

# (region, language): today 14:00, tomorrow 08:00, Thursday, 9 December, tomorrow 08:30, after Christmas.
WHEN = {
    ("us", "en"): ["today at 2 PM", "tomorrow at 8 AM", "on Thursday at 8 AM", "on Wednesday, December 9 at 8 AM",
                   "tomorrow at 8:30 AM", "on Monday at 8 AM"],
    ("emea", "en"): ["today at 2 pm", "tomorrow at 8 am", "on Thursday at 8 am", "on Wednesday 9 December at 8 am",
                     "tomorrow at 8:30 am", "on Monday at 8 am"],
    ("latam", "es"): ["hoy a las 2 de la tarde", "mañana a las 8 de la mañana", "el jueves a las 8 de la mañana",
                      "el miércoles 9 de diciembre a las 8 de la mañana", "mañana a las 8:30 de la mañana",
                      "el lunes a las 8 de la mañana"],
    ("us", "es"): ["hoy a las 2 de la tarde", "mañana a las 8 de la mañana", "el jueves a las 8 de la mañana",
                   "el miércoles 9 de diciembre a las 8 de la mañana", "mañana a las 8:30 de la mañana",
                   "el lunes a las 8 de la mañana"],
    ("emea", "es"): ["hoy a las 2 de la tarde", "mañana a las 8 de la mañana", "el jueves a las 8 de la mañana",
                     "el miércoles 9 de diciembre a las 8 de la mañana", "mañana a las 8:30 de la mañana",
                     "el lunes a las 8 de la mañana"],
    ("emea", "fr"): ["aujourd’hui à 14 h", "demain à 8 h", "jeudi à 8 h", "mercredi 9 décembre à 8 h",
                     "demain à 8 h 30", "lundi à 8 h"],
    ("ca", "fr"): ["aujourd’hui à 14 h", "demain à 8 h", "jeudi à 8 h", "mercredi 9 décembre à 8 h",
                   "demain à 8 h 30", "lundi à 8 h"],
    ("emea", "de"): ["heute um 14 Uhr", "morgen um 8 Uhr", "am Donnerstag um 8 Uhr",
                     "am Mittwoch, dem 9. Dezember, um 8 Uhr", "morgen um 8:30 Uhr", "am Montag um 8 Uhr"],
    ("emea", "ru"): ["сегодня в 2 дня", "завтра в 8 утра", "в четверг в 8 утра", "в среду, 9 декабря, в 8 утра",
                     "завтра в 8:30 утра", "в понедельник в 8 утра"],
    ("emea", "it"): ["oggi alle 14", "domani alle 8", "giovedì alle 8", "mercoledì 9 dicembre alle 8",
                     "domani alle 8:30", "lunedì alle 8"],
    ("apac", "ja"): ["本日午後2時", "明日午前8時", "木曜日の午前8時", "12月9日水曜日の午前8時",
                     "明日午前8時30分", "月曜日の午前8時"],
    ("apac", "zh"): ["今天下午2点", "明天上午8点", "星期四上午8点", "12月9日星期三上午8点",
                     "明天上午8点30分", "星期一上午8点"],
    ("latam", "pt"): ["hoje às 14h", "amanhã às 8h", "na quinta-feira às 8h", "na quarta-feira, 9 de dezembro, às 8h",
                      "amanhã às 8h30", "na segunda-feira às 8h"],
}

# (region, language): 08:00, 17:00, 08:30 on their own.
CLOCK = {
    ("us", "en"): ["8 AM", "5 PM", "8:30 AM"],
    ("emea", "en"): ["8 am", "5 pm", "8:30 am"],
    ("latam", "es"): ["8 de la mañana", "5 de la tarde", "8:30 de la mañana"],
    ("us", "es"): ["8 de la mañana", "5 de la tarde", "8:30 de la mañana"],
    ("emea", "es"): ["8 de la mañana", "5 de la tarde", "8:30 de la mañana"],
    ("emea", "fr"): ["8 h", "17 h", "8 h 30"],
    ("ca", "fr"): ["8 h", "17 h", "8 h 30"],
    ("emea", "de"): ["8 Uhr", "17 Uhr", "8:30 Uhr"],
    ("emea", "ru"): ["8 утра", "5 дня", "8:30 утра"],
    ("emea", "it"): ["8", "17", "8:30"],
    ("apac", "ja"): ["午前8時", "午後5時", "午前8時30分"],
    ("apac", "zh"): ["上午8点", "下午5点", "上午8点30分"],
    ("latam", "pt"): ["8h", "17h", "8h30"],
}

# (region, language): Europe/London, America/New_York, Asia/Singapore.
CITIES = {
    ("us", "en"): ["London", "New York", "Singapore"],
    ("emea", "en"): ["London", "New York", "Singapore"],
    ("latam", "es"): ["Londres", "Nueva York", "Singapur"],
    ("us", "es"): ["Londres", "Nueva York", "Singapur"],
    ("emea", "es"): ["Londres", "Nueva York", "Singapur"],
    ("emea", "fr"): ["Londres", "New York", "Singapour"],
    ("ca", "fr"): ["Londres", "New York", "Singapour"],
    ("emea", "de"): ["London", "New York", "Singapur"],
    ("emea", "ru"): ["Лондон", "Нью-Йорк", "Сингапур"],
    ("emea", "it"): ["Londra", "New York", "Singapore"],
    ("apac", "ja"): ["ロンドン", "ニューヨーク", "シンガポール"],
    ("apac", "zh"): ["伦敦", "纽约", "新加坡"],
    ("latam", "pt"): ["Londres", "Nova York", "Singapura"],
}

PAIRS = list(WHEN)
IDS = [f"{region}-{language}" for region, language in PAIRS]


def speaker(region: str, language: str) -> Speaker:
    """Build a speaker without catalogs: these phrases come from CLDR alone."""
    return Speaker(Translations(), voice_for(region, language), language)


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_when_says_today_tomorrow_a_weekday_or_a_date(pair):
    said = speaker(*pair)
    heard = [said.when(moment, NOW) for moment in MOMENTS] + [said.when(REOPENING, CHRISTMAS_EVE)]
    assert heard == WHEN[pair]


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_clock_says_a_time_of_day_as_inside_when(pair):
    said = speaker(*pair)
    assert [said.clock(time(8, 0)), said.clock(time(17, 0)), said.clock(time(8, 30))] == CLOCK[pair]


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_zone_city_names_the_city_in_the_language(pair):
    said = speaker(*pair)
    assert [said.zone_city(zone) for zone in ("Europe/London", "America/New_York", "Asia/Singapore")] == CITIES[pair]


@pytest.mark.parametrize("pair,week", [
    (("emea", "ru"), ["в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу",
                      "в воскресенье"]),
    (("latam", "pt"), ["na segunda-feira", "na terça-feira", "na quarta-feira", "na quinta-feira",
                       "na sexta-feira", "no sábado", "no domingo"]),
    (("emea", "de"), ["am Montag", "am Dienstag", "am Mittwoch", "am Donnerstag", "am Freitag", "am Samstag",
                      "am Sonntag"]),
    (("latam", "es"), ["el lunes", "el martes", "el miércoles", "el jueves", "el viernes", "el sábado", "el domingo"]),
], ids=["ru", "pt", "de", "es"])
def test_each_weekday_takes_its_own_preposition_and_case(pair, week):
    said = speaker(*pair)
    days = [datetime(2026, 12, 7 + offset, 9, 0, tzinfo=LONDON) for offset in range(7)]  # Monday first
    phrases = [said.when(day, day - timedelta(days=3)) for day in days]
    assert [phrase[: len(on)] for phrase, on in zip(phrases, week)] == week


@pytest.mark.parametrize("pair,hour,expected", [
    (("latam", "es"), 1, "mañana a la 1 de la madrugada"),
    (("latam", "es"), 13, "mañana a la 1 de la tarde"),  # one on the 12-hour clock
    (("emea", "it"), 1, "domani all’una"),
    (("emea", "it"), 13, "domani alle 13"),
    (("latam", "pt"), 1, "amanhã à 1h"),
    (("latam", "pt"), 13, "amanhã às 13h"),
])
def test_one_oclock_is_singular_where_the_language_says_so(pair, hour, expected):
    assert speaker(*pair).when(datetime(2026, 12, 1, hour, 0, tzinfo=LONDON), NOW) == expected


def test_days_are_counted_in_the_moments_own_zone():
    tokyo = ZoneInfo("Asia/Tokyo")
    late_in_london = datetime(2026, 11, 30, 23, 30, tzinfo=LONDON)  # already 1 December in Tokyo
    assert speaker("us", "en").when(datetime(2026, 12, 1, 10, 0, tzinfo=tokyo), late_in_london) == "today at 10 AM"


@pytest.mark.parametrize("pair", sorted(VOICES), ids=[f"{r}-{lang}" for r, lang in sorted(VOICES)])
def test_when_without_now_still_says_something(pair):
    assert speaker(*pair).when(datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("Europe/Berlin"))).strip()
