"""The voice table: every line region and language pair speaks with a voice Twilio documents."""
import pytest

from ivr.config import load_settings
from ivr.voice.voices import VOICES, voice_for

DOCUMENTED = {
    # Twilio's text-to-speech voice list (Amazon Polly): voice -> its language.
    "Polly.Joanna-Neural": "en-US", "Polly.Lupe-Neural": "es-US", "Polly.Gabrielle-Neural": "fr-CA",
    "Polly.Amy-Neural": "en-GB", "Polly.Vicki-Neural": "de-DE", "Polly.Lea-Neural": "fr-FR",
    "Polly.Tatyana": "ru-RU", "Polly.Lucia-Neural": "es-ES", "Polly.Bianca-Neural": "it-IT",
    "Polly.Olivia-Neural": "en-AU", "Polly.Takumi-Neural": "ja-JP", "Polly.Zhiyu-Neural": "cmn-CN",
    "Polly.Mia-Neural": "es-MX", "Polly.Camila-Neural": "pt-BR",
}
SPEECH_RECOGNITION = {"en-US", "en-CA", "en-GB", "en-AU", "es-US", "es-MX", "es-ES", "fr-CA", "fr-FR", "de-DE",
                      "ru-RU", "it-IT", "ja-JP", "cmn-Hans-CN", "pt-BR"}


def test_every_configured_line_language_has_a_voice_in_the_table():
    settings = load_settings(None)
    for line in settings.lines.values():
        for language in line.languages:
            assert (line.region, language) in VOICES


@pytest.mark.parametrize("pair", sorted(VOICES))
def test_each_voice_speaks_the_language_it_is_given(pair):
    voice = VOICES[pair]
    assert DOCUMENTED[voice.voice] == voice.say_language
    assert voice.gather_language in SPEECH_RECOGNITION
    # Mandarin's voice language is cmn-CN; every other voice's language starts with its own code.
    assert voice.say_language.split("-")[0] == {"zh": "cmn"}.get(pair[1], pair[1])


@pytest.mark.parametrize("region,language,say,hear", [
    ("us", "es", "es-US", "es-US"),
    ("emea", "es", "es-ES", "es-ES"),
    ("latam", "es", "es-MX", "es-MX"),
    ("ca", "fr", "fr-CA", "fr-CA"),
    ("emea", "fr", "fr-FR", "fr-FR"),
    ("apac", "zh", "cmn-CN", "cmn-Hans-CN"),
    ("latam", "pt", "pt-BR", "pt-BR"),
])
def test_the_same_language_sounds_local_on_each_regions_line(region, language, say, hear):
    voice = voice_for(region, language)
    assert (voice.say_language, voice.gather_language) == (say, hear)


def test_a_language_added_to_a_region_by_configuration_still_gets_a_voice(tmp_path):
    path = tmp_path / "ivr.toml"
    path.write_text('[regions.us]\nlanguages = ["en", "es", "de"]\n')
    line = load_settings(path).lines["+18005550100"]
    assert line.languages == ("en", "es", "de")
    assert ("us", "de") not in VOICES
    assert voice_for(line.region, "de") == VOICES[("emea", "de")]
