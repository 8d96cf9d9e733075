"""The one table of how each line region speaks and hears each language on Twilio.

Every pair is from Twilio's documented text-to-speech voices (Amazon Polly) and
`<Gather>` speech-recognition languages; tests/unit/test_voices.py holds the list.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Voice:
    say_language: str
    """The `language` of `<Say>`: must be the voice's own language."""
    voice: str
    gather_language: str
    """The `language` of `<Gather input="speech">` (speech recognition)."""
    locale: str
    """The CLDR locale used to format dates and times for this caller."""


_EN_US = Voice("en-US", "Polly.Joanna-Neural", "en-US", "en_US")

VOICES: dict[tuple[str, str], Voice] = {
    ("us", "en"): _EN_US,
    ("us", "es"): Voice("es-US", "Polly.Lupe-Neural", "es-US", "es_US"),
    # Twilio has no en-CA voice: speak US English, listen for Canadian English.
    ("ca", "en"): Voice("en-US", "Polly.Joanna-Neural", "en-CA", "en_CA"),
    ("ca", "fr"): Voice("fr-CA", "Polly.Gabrielle-Neural", "fr-CA", "fr_CA"),
    ("emea", "en"): Voice("en-GB", "Polly.Amy-Neural", "en-GB", "en_GB"),
    ("emea", "de"): Voice("de-DE", "Polly.Vicki-Neural", "de-DE", "de_DE"),
    ("emea", "fr"): Voice("fr-FR", "Polly.Lea-Neural", "fr-FR", "fr_FR"),
    # Polly has no neural Russian voice.
    ("emea", "ru"): Voice("ru-RU", "Polly.Tatyana", "ru-RU", "ru_RU"),
    ("emea", "es"): Voice("es-ES", "Polly.Lucia-Neural", "es-ES", "es_ES"),
    ("emea", "it"): Voice("it-IT", "Polly.Bianca-Neural", "it-IT", "it_IT"),
    ("apac", "en"): Voice("en-AU", "Polly.Olivia-Neural", "en-AU", "en_SG"),
    ("apac", "ja"): Voice("ja-JP", "Polly.Takumi-Neural", "ja-JP", "ja_JP"),
    ("apac", "zh"): Voice("cmn-CN", "Polly.Zhiyu-Neural", "cmn-Hans-CN", "zh_Hans_CN"),
    ("latam", "en"): _EN_US,
    ("latam", "es"): Voice("es-MX", "Polly.Mia-Neural", "es-MX", "es_MX"),
    ("latam", "pt"): Voice("pt-BR", "Polly.Camila-Neural", "pt-BR", "pt_BR"),
}
"""(line region, language) to voice: the Spanish of the US line is not the Spanish of EMEA."""

HOME_REGION = {"en": "us", "es": "latam", "fr": "emea", "de": "emea", "ru": "emea", "it": "emea",
               "ja": "apac", "zh": "apac", "pt": "latam"}
"""Whose voice a language borrows on a region the table does not list it for."""


def voice_for(region: str, language: str) -> Voice:
    """Return the voice for a language on a region's line."""
    return VOICES.get((region, language)) or VOICES[(HOME_REGION[language], language)]
