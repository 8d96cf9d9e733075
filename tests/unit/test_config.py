"""Configuration: the built-in defaults mirror SPEC §2–§4; a TOML file overrides keys or is refused by key."""
from __future__ import annotations

from datetime import time

import pytest

from ivr.config import ConfigError, load_settings


@pytest.fixture
def defaults(monkeypatch):
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    return load_settings()


@pytest.fixture
def toml(tmp_path, monkeypatch):
    """Write a TOML override and load the settings from it."""
    monkeypatch.delenv("IVR_CONFIG", raising=False)

    def load(text: str):
        path = tmp_path / "ivr.toml"
        path.write_text(text, encoding="utf-8")
        return load_settings(path)

    return load


SPEC_REGIONS = [
    # code, languages in menu order, default time zone, holiday country
    ("us", ("en", "es"), "America/New_York", "US"),
    ("ca", ("en", "fr"), "America/Toronto", "CA"),
    ("emea", ("en", "de", "fr", "ru", "es", "it"), "Europe/London", "GB"),
    ("apac", ("en", "ja", "zh"), "Asia/Singapore", "SG"),
    ("latam", ("en", "es", "pt"), "America/Sao_Paulo", "BR"),
]


def test_defaults_configure_the_five_regions_of_the_spec_in_order(defaults):
    assert list(defaults.regions) == [code for code, *_ in SPEC_REGIONS]


@pytest.mark.parametrize(("code", "languages", "timezone", "country"), SPEC_REGIONS)
def test_default_region_has_the_spec_s_languages_in_menu_order_and_its_time_zone(
    defaults, code, languages, timezone, country
):
    region = defaults.regions[code]
    assert (region.languages, region.timezone, region.holidays) == (languages, timezone, country)
    assert defaults.policy.holiday_countries[code] == country


def test_defaults_configure_six_lines_one_customer_line_per_region_and_the_emea_partner_line(defaults):
    assert len(defaults.lines) == 6
    customer = sorted(line.region for line in defaults.lines.values() if line.audience == "customer")
    partner = [line for line in defaults.lines.values() if line.audience == "partner"]
    assert customer == sorted(code for code, *_ in SPEC_REGIONS)
    assert [(p.region, p.languages, p.timezone) for p in partner] == [("emea", ("en",), "Europe/London")]


@pytest.mark.parametrize(("code", "languages", "timezone", "country"), SPEC_REGIONS)
def test_default_customer_line_offers_its_region_s_menu_in_its_time_zone(defaults, code, languages, timezone, country):
    (line,) = [x for x in defaults.lines.values() if x.region == code and x.audience == "customer"]
    assert (line.languages, line.timezone) == (languages, timezone)
    assert defaults.lines[line.number] is line


def test_default_line_is_a_configured_line(defaults):
    assert defaults.default_line.number in defaults.lines
    assert defaults.default_line.region == "us"


def test_settings_send_an_unconfigured_number_to_the_default_line(defaults):
    assert defaults.line_for("+19995550000") is defaults.default_line
    assert defaults.line_for(None) is defaults.default_line
    assert defaults.line_for("+44 20 7946 0199").audience == "partner"


@pytest.mark.parametrize(("plan", "hours"), [("evaluation", "mon,tue,wed,thu,fri 08:00-17:00"),
                                             ("basic", "mon,tue,wed,thu,fri 08:00-20:00"),
                                             ("production", "24/7"), ("premium", "24/7")])
def test_default_plan_hours_are_those_of_the_spec(defaults, plan, hours):
    assert defaults.policy.plans[plan].hours.describe() == hours


def test_defaults_have_no_overflow_rules(defaults):
    assert dict(defaults.policy.overflow) == {}


def test_ivr_config_environment_variable_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "from-env.toml"
    path.write_text('portal = "help.example.org"\n', encoding="utf-8")
    monkeypatch.setenv("IVR_CONFIG", str(path))
    settings = load_settings()
    assert (settings.portal, settings.source) == ("help.example.org", str(path))


def test_override_of_one_key_leaves_its_neighbours_alone(toml, defaults):
    settings = toml("[queue]\nmax_wait = 90\n")
    assert settings.max_wait == 90
    assert settings.hold_music == defaults.hold_music
    assert settings.dial_timeout == defaults.dial_timeout
    assert settings.lines == defaults.lines


def test_override_of_a_region_s_time_zone_keeps_its_languages_and_moves_its_lines(toml):
    settings = toml('[regions.us]\ntimezone = "America/Chicago"\n')
    assert settings.regions["us"].timezone == "America/Chicago"
    assert settings.regions["us"].languages == ("en", "es")
    assert settings.lines["+18005550100"].timezone == "America/Chicago"
    assert settings.regions["ca"].timezone == "America/Toronto"


def test_override_of_a_plan_s_closing_time_keeps_its_days_and_opening(toml):
    settings = toml('[plans.basic]\nclose = "21:00"\n')
    hours = settings.policy.plans["basic"].hours
    assert (hours.start, hours.end, hours.weekdays) == (time(8), time(21), frozenset(range(5)))
    assert settings.policy.plans["basic"].targets == load_settings().policy.plans["basic"].targets


def test_lines_given_in_the_file_replace_the_default_lines(toml):
    settings = toml('[[lines]]\nnumber = "+18005550100"\nregion = "us"\nlanguages = ["es"]\n')
    assert list(settings.lines) == ["+18005550100"]
    assert settings.default_line.languages == ("es",)


def test_overflow_rule_is_configured(toml):
    settings = toml('[overflow]\nemea-ru = "emea-en"\n')
    assert dict(settings.policy.overflow) == {"emea-ru": "emea-en"}


def test_holidays_switched_off_clear_every_region_s_country(toml):
    settings = toml("holidays = false\n")
    assert set(settings.policy.holiday_countries.values()) == {None}


def test_holidays_switched_off_for_one_region_leave_the_others(toml):
    settings = toml("[regions.emea]\nholidays = false\n")
    assert settings.policy.holiday_countries["emea"] is None
    assert settings.policy.holiday_countries["us"] == "US"


def test_holiday_country_is_accepted_in_lower_case(toml):
    assert toml('[regions.emea]\nholidays = "ie"\n').regions["emea"].holidays == "IE"


LINE = '[[lines]]\nnumber = "+18005550100"\nregion = "us"\n'

BAD = [
    # TOML text, the key the error must name
    pytest.param('colour = "blue"\n', "colour", id="unknown-top-level-key"),
    pytest.param("[dial]\ntimeot = 5\n", "dial.timeot", id="unknown-key-in-a-section"),
    pytest.param('[regions.us]\nzone = "America/Chicago"\n', "regions.us.zone", id="unknown-key-in-a-region"),
    pytest.param(LINE + 'colour = "red"\n', "lines[0].colour", id="unknown-key-in-a-line"),
    pytest.param('[plans.basic]\nlunch = "12:00"\n', "plans.basic.lunch", id="unknown-key-in-a-plan"),
    pytest.param('[[lines]]\nnumber = "+18005550100"\nregion = "mars"\n', "lines[0].region", id="bad-region-in-a-line"),
    pytest.param('[[lines]]\nnumber = "+18005550100"\n', "lines[0].region", id="line-without-region"),
    pytest.param('[[lines]]\nnumber = "+18005550100"\nregion = ["us"]\n', "lines[0].region", id="line-region-a-list"),
    pytest.param('[[lines]]\nnumber = "18005550100"\nregion = "us"\n', "lines[0].number", id="line-number-not-e164"),
    pytest.param(LINE + LINE, "lines[1].number", id="line-number-twice"),
    pytest.param(LINE + 'audience = "vip"\n', "lines[0].audience", id="bad-audience"),
    pytest.param(LINE + 'languages = ["en", "tlh"]\n', "lines[0].languages", id="bad-line-language"),
    pytest.param(LINE + 'timezone = "America/Gotham"\n', "lines[0].timezone", id="bad-line-time-zone"),
    pytest.param("lines = []\n", "lines", id="no-lines"),
    pytest.param('[regions.us]\ntimezone = "America/Nowhere"\n', "regions.us.timezone", id="bad-time-zone"),
    pytest.param("[regions.us]\ntimezone = 5\n", "regions.us.timezone", id="time-zone-not-text"),
    pytest.param('[regions.us]\nlanguages = ["en", "xx"]\n', "regions.us.languages", id="bad-region-language"),
    pytest.param('[regions.us]\nlanguages = ["en", "en"]\n', "regions.us.languages", id="language-twice"),
    pytest.param("[regions.us]\nlanguages = []\n", "regions.us.languages", id="no-languages"),
    pytest.param('[regions.mena]\nlanguages = ["en"]\n', "regions.mena.timezone", id="new-region-without-zone"),
    pytest.param('[regions.Mena]\nlanguages = ["en"]\ntimezone = "Asia/Dubai"\n', "regions.Mena", id="bad-region-code"),
    pytest.param('[regions.us]\nholidays = "XX"\n', "regions.us.holidays", id="unknown-holiday-country"),
    pytest.param("[regions.us]\nholidays = true\n", "regions.us.holidays", id="holiday-country-not-text"),
    pytest.param('holidays = "yes"\n', "holidays", id="holidays-not-a-switch"),
    pytest.param('[plans.basic]\nopen = "25:00"\n', "plans.basic.open", id="hour-25"),
    pytest.param('[plans.basic]\nclose = "20:60"\n', "plans.basic.close", id="minute-60"),
    pytest.param('[plans.basic]\nopen = "8:00"\n', "plans.basic.open", id="hour-without-two-digits"),
    pytest.param("[plans.basic]\nopen = 800\n", "plans.basic.open", id="time-not-text"),
    pytest.param('[plans.evaluation]\nopen = "17:00"\nclose = "08:00"\n', "plans.evaluation.close", id="close-before-open"),
    pytest.param('[plans.evaluation]\nopen = "08:00"\nclose = "08:00"\n', "plans.evaluation.close", id="close-at-open"),
    pytest.param('[plans.basic]\ndays = ["mon", "funday"]\n', "plans.basic.days", id="bad-day"),
    pytest.param("[plans.basic]\ndays = []\n", "plans.basic.days", id="no-days"),
    pytest.param('[plans.production]\nopen = "09:00"\n', "plans.production", id="hours-for-round-the-clock-plan"),
    pytest.param('[plans.community]\nopen = "09:00"\n', "plans.community", id="hours-for-plan-without-phone"),
    pytest.param('[plans.gold]\nopen = "09:00"\n', "plans.gold", id="unknown-plan"),
    pytest.param('[overflow]\nemea-ru = "emea-xx"\n', "overflow.emea-ru", id="overflow-to-unknown-queue"),
    pytest.param('[overflow]\nemea-ru = "apac-ru"\n', "overflow.emea-ru", id="overflow-to-language-region-lacks"),
    pytest.param('[overflow]\nmars-en = "emea-en"\n', "overflow.mars-en", id="overflow-from-unknown-queue"),
    pytest.param('[overflow]\nemea-en = "emea-en"\n', "overflow.emea-en", id="overflow-to-itself"),
    pytest.param('[overflow]\nemea-ru = ["emea-en"]\n', "overflow.emea-ru", id="overflow-to-a-list"),
    pytest.param('[overflow.emea-ru]\nqueue = "emea-en"\n', "overflow.emea-ru", id="overflow-to-a-table"),
    pytest.param('overflow = "emea-en"\n', "overflow", id="overflow-not-a-table"),
    pytest.param('default_line = "+19995550000"\n', "default_line", id="default-line-not-configured"),
    pytest.param('default_line = ["+18005550100"]\n', "default_line", id="default-line-a-list"),
    pytest.param("[dial]\ntimeout = 0\n", "dial.timeout", id="zero-timeout"),
    pytest.param("[dial]\ntimeout = true\n", "dial.timeout", id="boolean-timeout"),
    pytest.param('[queue]\nmax_wait = "1h"\n', "queue.max_wait", id="wait-not-a-number"),
    pytest.param('[proxy]\ntrusted = "10.0.0.1"\n', "proxy.trusted", id="trusted-proxies-not-a-list"),
    pytest.param('portal = ""\n', "portal", id="empty-portal"),
]


@pytest.mark.parametrize(("text", "key"), BAD)
def test_bad_configuration_is_refused_naming_the_key(toml, tmp_path, text, key):
    with pytest.raises(ConfigError) as caught:
        toml(text)
    assert caught.value.key == key
    assert f": {key}: " in str(caught.value)
    assert caught.value.reason  # says why
    assert str(tmp_path / "ivr.toml") in str(caught.value)


def test_toml_syntax_error_is_a_configuration_error(toml):
    with pytest.raises(ConfigError) as caught:
        toml("[dial\ntimeout = 3\n")
    assert caught.value.key == "(syntax)"


def test_missing_configuration_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nowhere.toml")
    assert caught.value.key == "IVR_CONFIG"
    assert "does not exist" in str(caught.value)
