"""A case number said in any of the nine languages comes back as the digits the caller meant, and nothing else."""
from __future__ import annotations

import pytest

from routing.model import LANGUAGES
from ivr.voice.spoken_numbers import SPEECH_HINTS, spoken_digits, spoken_yes_no

SAID: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("oh seven one two three four five six", "07123456"),
        ("0 7 1 2 3 4 5 6", "07123456"),
        ("07123456.", "07123456"),
        ("My case number is zero seven one two, three four five six.", "07123456"),
        ("three one two double oh double oh one", "31200001"),
        ("thirty-one twenty oh oh oh one", "31200001"),
        ("twelve thirty-four fifty-six seventy-eight", "12345678"),
        ("Uh, it's 0712 three four five six", "07123456"),
        ("one oh seven", "107"),
        ("twelve oh seven", "1207"),
        ("nineteen", "19"),
        ("twenty", "20"),
        ("double five", "55"),
        ("triple seven", "777"),
        ("one hundred and seven", "107"),
        ("seven hundred twelve", "712"),
        ("Nought seven one two three four five six", "07123456"),
        ("o seven one two", "0712"),
    ],
    "de": [
        ("null sieben eins zwei drei vier fünf sechs", "07123456"),
        ("null sieben zwölf vierunddreißig fünf sechs", "07123456"),
        ("Meine Fallnummer ist null sieben zwölf vierunddreissig sechsundfünfzig", "07123456"),
        ("drei eins zwo null null null null eins", "31200001"),
        ("einunddreißig zwanzig null null null eins", "31200001"),
        ("null sieben äh zwölf vier und dreißig fünf sechs", "07123456"),
        ("Also die Nummer ist 0712 3456", "07123456"),
        ("ein und zwanzig", "21"),
        ("neunzehn", "19"),
        ("zweihundertsieben", "207"),
        ("sieben hundert zwölf", "712"),
        ("eins", "1"),
    ],
    "fr": [
        ("zéro sept un deux trois quatre cinq six", "07123456"),
        ("zéro sept douze trente-quatre cinquante-six", "07123456"),
        ("C'est le zéro sept, douze, trente-quatre, cinquante-six.", "07123456"),
        ("trente et un vingt zéro zéro zéro un", "31200001"),
        ("trois un deux zéro zéro zéro zéro un", "31200001"),
        ("euh, 07 12 trente-quatre 56", "07123456"),
        ("soixante-dix-huit", "78"),
        ("quatre-vingt-dix-neuf", "99"),
        ("quatre-vingts", "80"),
        ("soixante et onze", "71"),
        ("vingt et un", "21"),
        ("dix-sept", "17"),
        ("septante-huit nonante", "7890"),
        ("zero sept un deux", "0712"),
    ],
    "es": [
        ("cero siete uno dos tres cuatro cinco seis", "07123456"),
        ("cero siete doce treinta y cuatro cincuenta y seis", "07123456"),
        ("Mi número de caso es el cero siete, doce, treinta y cuatro, cincuenta y seis.", "07123456"),
        ("treinta y uno veinte cero cero cero uno", "31200001"),
        ("tres uno dos cero cero cero cero uno", "31200001"),
        ("este, 0712 tres cuatro cinco seis", "07123456"),
        ("veintiuno", "21"),
        ("veintidós veintidos", "2222"),
        ("treinta y un", "31"),
        ("dieciséis diecisiete", "1617"),
        ("ciento siete", "107"),
        ("trescientos doce", "312"),
    ],
    "it": [
        ("zero sette uno due tre quattro cinque sei", "07123456"),
        ("zero sette dodici trentaquattro cinquantasei", "07123456"),
        ("Il mio numero è zero sette dodici trenta quattro cinquanta sei", "07123456"),
        ("trentuno venti zero zero zero uno", "31200001"),
        ("tre uno due zero zero zero zero uno", "31200001"),
        ("ehm, 0712 tre quattro cinque sei", "07123456"),
        ("ventuno", "21"),
        ("ventotto", "28"),
        ("ventitré trentatre", "2333"),
        ("diciannove", "19"),
        ("cento sette", "107"),
    ],
    "pt": [
        ("zero sete um dois três quatro cinco seis", "07123456"),
        ("zero sete doze trinta e quatro cinquenta e seis", "07123456"),
        ("O número do caso é zero sete um dois três quatro cinco meia", "07123456"),
        ("trinta e um vinte zero zero zero um", "31200001"),
        ("tres um dois zero zero zero zero um", "31200001"),
        ("hum, 0712 três quatro cinco seis", "07123456"),
        ("vinte e um", "21"),
        ("dezesseis dezasseis", "1616"),
        ("cento e sete", "107"),
        ("trezentos e doze", "312"),
    ],
    "ru": [
        ("ноль семь один два три четыре пять шесть", "07123456"),
        ("ноль семь двенадцать тридцать четыре пятьдесят шесть", "07123456"),
        ("Мой номер обращения ноль семь, двенадцать, тридцать четыре, пятьдесят шесть.", "07123456"),
        ("триста двенадцать ноль ноль ноль ноль один", "31200001"),
        ("тридцать один двадцать ноль ноль ноль один", "31200001"),
        ("нуль семь 12 34 пятьдесят шесть", "07123456"),
        ("ну, три один два ноль ноль ноль ноль один", "31200001"),
        ("двенадцать", "12"),
        ("сто семь", "107"),
        ("девяносто девять", "99"),
        ("Семнадцать ёлок", "17"),
    ],
    "ja": [
        ("ゼロ七一二三四五六", "07123456"),
        ("〇七一二三四五六", "07123456"),
        ("07123456", "07123456"),
        ("０７１２３４５６", "07123456"),
        ("三一二〇〇〇〇一", "31200001"),
        ("ケース番号はゼロなないちにさんよんごろくです", "07123456"),
        ("ゼロ、ナナ、イチ、ニ、サン、ヨン、ゴ、ロク", "07123456"),
        ("えーと、〇七 十二 三十四 五十六です", "07123456"),
        ("れいしちいちにーさんしごーろく", "07123456"),
        ("はちきゅうく", "899"),
        ("十二", "12"),
        ("三十四", "34"),
        ("二十", "20"),
        ("三百十二", "312"),
        ("七十二", "72"),
        ("七 十二", "712"),
        ("〇七一二三四五六、よろしくお願いします", "07123456"),
        ("〇七一二三四五六ください", "07123456"),
    ],
    "zh": [
        ("零七一二三四五六", "07123456"),
        ("三一二零零零零幺", "31200001"),
        ("我的案例号码是零七一二三四五六", "07123456"),
        ("嗯，零七，一二，三四，五六。", "07123456"),
        ("零七幺两三四五六", "07123456"),
        ("０７１２３４五六", "07123456"),
        ("三十一 二十 零零零一", "31200001"),
        ("十二", "12"),
        ("三十四", "34"),
        ("一百零七", "107"),
        ("帮我查一下零七一二三四五六", "07123456"),
    ],
}


@pytest.mark.parametrize("language,said,digits", [
    pytest.param(language, said, digits, id=f"{language}-{said}")
    for language, rows in SAID.items() for said, digits in rows
])
def test_spoken_case_numbers_come_back_as_digits(language, said, digits):
    assert spoken_digits(said, language) == digits


def test_every_language_has_a_table_of_at_least_eight_sayings():
    assert set(SAID) == set(LANGUAGES)
    assert all(len(rows) >= 8 for rows in SAID.values())
    # The two case numbers of the brief are said naturally in every language.
    for language, rows in SAID.items():
        assert {"07123456", "31200001"} <= {digits for _, digits in rows}, language


ORDINARY: dict[str, list[str]] = {
    # Number words inside other words, and number words used as everyday words, are not digits.
    "en": ["someone phoned", "Oh, hello there", "I have one question", "anyone", "I'm a hundred percent sure",
           "often tonight", "double check"],
    # German articles are not 1: only "eins" is, and "ein" inside "ein und zwanzig"/"einhundert".
    "de": ["ein Problem", "eine Frage", "einer meiner Kollegen", "Ich habe einen Fehler", "Einsicht", "elfenbein"],
    "fr": ["une question", "j'ai un problème", "un ordinateur neuf", "septembre", "c'est le numéro"],
    "es": ["una pregunta", "tengo un problema", "uno de mis colegas", "o tal vez"],
    "it": ["una domanda", "ho un problema", "sei sicuro", "uno dei colleghi"],
    "pt": ["uma pergunta", "tenho um problema", "meia hora"],
    "ru": ["у меня один вопрос", "здравствуйте"],
    "ja": ["よろしくお願いします", "ください", "ございます", "一応", "お客さん", "十分です"],
    "zh": ["请帮我查一下", "一个问题", "十分感谢", "两个"],
}


@pytest.mark.parametrize("language,said", [
    pytest.param(language, said, id=f"{language}-{said}") for language, rows in ORDINARY.items() for said in rows
])
def test_ordinary_words_are_not_digits(language, said):
    assert spoken_digits(said, language) == ""


@pytest.mark.parametrize("language,said,digits", [
    # An everyday number word still counts beside another number.
    ("en", "one two", "12"),
    ("en", "oh one", "01"),
    ("fr", "un deux", "12"),
    ("fr", "neuf neuf", "99"),
    ("it", "sei sette", "67"),
    ("pt", "um meia", "16"),
    ("ru", "один два", "12"),
    ("ja", "一二", "12"),
    ("zh", "一二", "12"),
    # …and digits spoken by a filler-led caller keep their order around the words.
    ("en", "It's 07, then one two, then 3456", "07123456"),
])
def test_an_everyday_number_word_counts_next_to_another_number(language, said, digits):
    assert spoken_digits(said, language) == digits


def test_speech_hints_cover_every_language_within_twilio_limits():
    assert set(SPEECH_HINTS) == set(LANGUAGES)
    for language, hints in SPEECH_HINTS.items():
        entries = hints.split(", ")
        assert entries[0] == "$OOV_CLASS_DIGIT_SEQUENCE", language
        assert len(entries) <= 500 and all(0 < len(entry) <= 100 for entry in entries), language
        assert all("," not in entry and entry == entry.strip() for entry in entries), language
        assert len(entries) == len(set(entries)), language


@pytest.mark.parametrize("language,words", [
    ("en", ["zero", "oh", "one", "five", "nine", "twelve", "twenty"]),
    ("de", ["null", "eins", "zwei", "zwo", "fünf", "zwölf", "dreißig"]),
    ("fr", ["zéro", "un", "sept", "neuf", "douze", "vingt"]),
    ("es", ["cero", "uno", "siete", "nueve", "doce", "veinte"]),
    ("it", ["zero", "uno", "sette", "nove", "dodici", "venti"]),
    ("pt", ["zero", "um", "sete", "meia", "doze", "vinte"]),
    ("ru", ["ноль", "один", "семь", "девять", "двенадцать", "двадцать"]),
    ("ja", ["〇", "ゼロ", "一", "七", "九", "十"]),
    ("zh", ["零", "一", "幺", "两", "七", "十"]),
])
def test_speech_hints_name_the_languages_digit_words(language, words):
    entries = SPEECH_HINTS[language].split(", ")
    assert all(word in entries for word in words)


def test_speech_hints_leave_out_words_that_would_pull_ordinary_speech_to_digits():
    assert "o" not in SPEECH_HINTS["en"].split(", ")
    # Japanese recognition writes numbers in kanji or katakana: a hiragana し or く hint would bias towards します, ください.
    assert not {"し", "く", "に", "ご"} & set(SPEECH_HINTS["ja"].split(", "))


ANSWERS: dict[str, list[tuple[str, bool | None]]] = {
    "en": [("yes", True), ("Yeah.", True), ("Correct", True), ("That's right", True), ("yep that is correct", True),
           ("no", False), ("Nope.", False), ("wrong", False), ("that's not right", False), ("that is incorrect", False),
           ("yes no", None), ("I don't know", None), ("hello", None), ("", None)],
    "de": [("ja", True), ("Ja, richtig.", True), ("genau", True), ("stimmt", True),
           ("nein", False), ("falsch", False), ("das stimmt nicht", False), ("das ist nicht richtig", False),
           ("ja nein", None), ("Moment bitte", None)],
    "fr": [("oui", True), ("Oui, c'est ça.", True), ("exact", True), ("c'est bien ça", True),
           ("non", False), ("c'est faux", False), ("ce n'est pas ça", False), ("c'est pas correct", False),
           ("oui non", None), ("pardon", None)],
    "es": [("sí", True), ("si", True), ("correcto", True), ("Sí, eso es.", True),
           ("no", False), ("No es correcto.", False), ("incorrecto", False),
           ("sí no", None), ("perdón", None)],
    "it": [("sì", True), ("esatto", True), ("giusto", True), ("Sì, corretto.", True),
           ("no", False), ("non è giusto", False), ("sbagliato", False),
           ("sì no", None), ("come?", None)],
    "pt": [("sim", True), ("isso", True), ("correto", True), ("Sim, isso mesmo.", True),
           ("não", False), ("Não é isso.", False), ("errado", False),
           ("sim não", None), ("como?", None)],
    "ru": [("да", True), ("верно", True), ("правильно", True), ("Да, всё верно.", True),
           ("нет", False), ("неправильно", False), ("не верно", False), ("Нет, не так.", False),
           ("да нет", None), ("алло", None)],
    "ja": [("はい", True), ("そうです", True), ("正しい", True), ("ハイ、その通りです", True),
           ("いいえ", False), ("違います", False), ("正しくない", False), ("ううん", False),
           ("はい、違います", None), ("もしもし", None)],
    "zh": [("是", True), ("对", True), ("是的", True), ("没错", True), ("对的，没错", True),
           ("不", False), ("不是", False), ("不对", False), ("不太对", False),
           ("对不对", None), ("喂", None)],
}


@pytest.mark.parametrize("language,said,meaning", [
    pytest.param(language, said, meaning, id=f"{language}-{said}") for language, rows in ANSWERS.items()
    for said, meaning in rows
])
def test_yes_or_no(language, said, meaning):
    assert spoken_yes_no(said, language) is meaning


def test_every_language_answers_yes_and_no():
    assert set(ANSWERS) == set(LANGUAGES)
    for language, rows in ANSWERS.items():
        assert {True, False, None} <= {meaning for _, meaning in rows}, language
