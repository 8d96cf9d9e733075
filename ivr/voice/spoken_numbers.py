"""A case number and a yes or no, read from what a caller said (Twilio's `SpeechResult`).

Speech recognition returns text in the caller's language, and a number may come back as
digits ("07123456."), as words ("oh seven one two…"), in pairs ("twelve thirty-four…")
or mixed. `spoken_digits` turns any of these into the digit string the caller meant;
the caller of this module checks its length.

Only words that are numbers become digits. A number word that is also an everyday word
("one question", French "un problème", Chinese 一下, Japanese します) counts only next
to another number: see `AMBIGUOUS`. Articles are never digits (German "ein"/"eine",
Spanish "un"/"una", French "une"), except as part of a compound ("einundzwanzig",
"treinta y un").

Pure: standard library only, so the tables can be tested without a call.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

CJK = ("ja", "zh")
"""Languages written without spaces: their text is scanned character by character."""

# --- Number words, per language. Keys are written as people spell them; lookups fold case
# and accents ("dreißig" = "dreissig", "veintidós" = "veintidos") and Japanese katakana to hiragana.

UNITS: dict[str, dict[str, int]] = {
    "en": {"zero": 0, "oh": 0, "o": 0, "nought": 0, "naught": 0, "one": 1, "two": 2, "three": 3, "four": 4,
           "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9},
    "es": {"cero": 0, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
           "ocho": 8, "nueve": 9},
    "fr": {"zéro": 0, "un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
           "huit": 8, "neuf": 9},
    # "zwo" is how German says 2 on the phone, so it is not misheard as "drei".
    "de": {"null": 0, "eins": 1, "zwei": 2, "zwo": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
           "sieben": 7, "acht": 8, "neun": 9},
    "ru": {"ноль": 0, "нуль": 0, "один": 1, "два": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6,
           "семь": 7, "восемь": 8, "девять": 9},
    "it": {"zero": 0, "uno": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7,
           "otto": 8, "nove": 9},
    # Brazilians say "meia" (half a dozen) for 6 when reading out numbers.
    "pt": {"zero": 0, "um": 1, "dois": 2, "três": 3, "quatro": 4, "cinco": 5, "seis": 6, "meia": 6,
           "sete": 7, "oito": 8, "nove": 9},
    # Kanji, and the kana readings used when reading digits out (the lengthened にー/ごー too).
    "ja": {"〇": 0, "零": 0, "ゼロ": 0, "れい": 0, "まる": 0,
           "一": 1, "いち": 1, "二": 2, "に": 2, "にー": 2, "にい": 2, "三": 3, "さん": 3,
           "四": 4, "よん": 4, "し": 4, "五": 5, "ご": 5, "ごー": 5, "六": 6, "ろく": 6,
           "七": 7, "なな": 7, "しち": 7, "八": 8, "はち": 8, "九": 9, "きゅう": 9, "きゅー": 9, "く": 9},
    # 幺 (yāo) is 1 when reading digits, so it is not misheard as 七; 两/兩 is 2 before a count.
    "zh": {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9},
}

TEENS: dict[str, dict[str, int]] = {
    "en": {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
           "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19},
    "es": {"diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15, "dieciséis": 16,
           "diecisiete": 17, "dieciocho": 18, "diecinueve": 19},
    # 17-19 are "dix-sept"…: "dix" is a tens word in French (see TENS).
    "fr": {"onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16},
    "de": {"zehn": 10, "elf": 11, "zwölf": 12, "dreizehn": 13, "vierzehn": 14, "fünfzehn": 15,
           "sechzehn": 16, "siebzehn": 17, "achtzehn": 18, "neunzehn": 19},
    "ru": {"десять": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
           "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19},
    "it": {"dieci": 10, "undici": 11, "dodici": 12, "tredici": 13, "quattordici": 14, "quindici": 15,
           "sedici": 16, "diciassette": 17, "diciotto": 18, "diciannove": 19},
    # Brazilian and European spellings.
    "pt": {"dez": 10, "onze": 11, "doze": 12, "treze": 13, "catorze": 14, "quatorze": 14, "quinze": 15,
           "dezesseis": 16, "dezasseis": 16, "dezessete": 17, "dezassete": 17, "dezoito": 18,
           "dezenove": 19, "dezanove": 19},
    "ja": {},
    "zh": {},
}

TENS: dict[str, dict[str, int]] = {
    "en": {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
           "eighty": 80, "ninety": 90},
    "es": {"veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
           "ochenta": 80, "noventa": 90},
    # 80 is "quatre-vingts"; Belgian and Swiss callers say septante, huitante/octante, nonante.
    "fr": {"dix": 10, "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50,
           "soixante": 60, "septante": 70, "huitante": 80, "octante": 80, "nonante": 90},
    "de": {"zwanzig": 20, "dreißig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60, "siebzig": 70,
           "achtzig": 80, "neunzig": 90},
    "ru": {"двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60,
           "семьдесят": 70, "восемьдесят": 80, "девяносто": 90},
    "it": {"venti": 20, "trenta": 30, "quaranta": 40, "cinquanta": 50, "sessanta": 60, "settanta": 70,
           "ottanta": 80, "novanta": 90},
    "pt": {"vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50, "sessenta": 60, "setenta": 70,
           "oitenta": 80, "noventa": 90},
    "ja": {},
    "zh": {},
}

TEN_MARKS: dict[str, set[str]] = {"ja": {"十", "じゅう", "じゅー"}, "zh": {"十"}}
"""十 multiplies the unit before it and adds the one after: 十二 = 12, 三十四 = 34, 二十 = 20."""

HUNDREDS: dict[str, dict[str, int]] = {
    "en": {"hundred": 100},
    "es": {"cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300, "cuatrocientos": 400,
           "quinientos": 500, "seiscientos": 600, "setecientos": 700, "ochocientos": 800, "novecientos": 900},
    "fr": {"cent": 100, "cents": 100},
    "de": {"hundert": 100},
    # Russians read a long number in groups, often of three: "триста двенадцать" = 312.
    "ru": {"сто": 100, "двести": 200, "триста": 300, "четыреста": 400, "пятьсот": 500, "шестьсот": 600,
           "семьсот": 700, "восемьсот": 800, "девятьсот": 900},
    "it": {"cento": 100, "duecento": 200, "trecento": 300, "quattrocento": 400, "cinquecento": 500,
           "seicento": 600, "settecento": 700, "ottocento": 800, "novecento": 900},
    "pt": {"cem": 100, "cento": 100, "duzentos": 200, "trezentos": 300, "quatrocentos": 400, "quinhentos": 500,
           "seiscentos": 600, "setecentos": 700, "oitocentos": 800, "novecentos": 900},
    "ja": {"百": 100, "ひゃく": 100},
    "zh": {"百": 100},
}

MULTIPLIED_HUNDREDS = {"en", "fr", "de", "ja", "zh"}
"""Languages whose hundred word takes a count before it ("seven hundred", 三百); the others have one word per hundred."""

LINKS: dict[str, set[str]] = {
    "en": {"and"}, "es": {"y"}, "fr": {"et"}, "de": {"und"}, "ru": {"и"}, "it": {"e"}, "pt": {"e"}, "ja": set(),
    "zh": set(),
}
"""'and' inside a number: "vingt et un", "treinta y cuatro", "vier und dreißig", "one hundred and seven"."""

TENS_LINKED = {"es", "fr", "pt"}
"""Languages that may put LINKS between the tens and the unit (English and Italian do not)."""

UNIT_FIRST = {"de"}
"""Languages saying the unit before the tens: "vier und dreißig" = 34. Their tens never take a unit after them."""

ARTICLES: dict[str, dict[str, int]] = {"de": {"ein": 1}, "es": {"un": 1}, "it": {"un": 1}}
"""Articles that are 1 only inside a compound ("ein und zwanzig", "treinta y un"); alone they are not digits."""

COMPOUNDING = {"de"}
"""Languages writing a whole number as one word ("zweihundertsieben"), beyond the 21-99 in the tables."""

REPEATS: dict[str, dict[str, int]] = {"en": {"double": 2, "triple": 3}}
"""English reads "55" as "double five"; other languages say each digit."""

AMBIGUOUS: dict[str, set[str]] = {
    "en": {"oh", "o", "one"},
    "es": {"uno"},
    "fr": {"un", "neuf"},           # "un problème", "un ordinateur neuf"
    "de": set(),
    "ru": {"один"},
    "it": {"uno", "sei"},           # "sei" is also "you are"
    "pt": {"um", "meia"},
    "ja": set(),                    # in ja and zh every number word is treated so: see _isolated
    "zh": set(),
}
"""Number words that are also everyday words: a digit only next to another number ("oh seven", not "oh, hello")."""

FILLERS: dict[str, set[str]] = {
    "en": {"uh", "um", "umm", "er", "erm", "ah", "hmm", "like"},
    "es": {"eh", "em", "este", "mmm", "pues"},
    "fr": {"euh", "heu", "bah", "ben", "hum"},
    "de": {"äh", "ähm", "öhm", "hm", "hmm", "also"},
    "ru": {"э", "эм", "ну", "вот"},
    "it": {"eh", "ehm", "cioè", "allora"},
    "pt": {"hum", "ah", "eh", "tipo"},
    "ja": {"えーと", "えっと", "えーっと", "えー", "あのー", "あの", "うーん"},
    "zh": {"嗯", "呃", "啊", "那个", "就是"},
}
"""Hesitations inside a number: skipped without splitting it ("null sieben äh zwölf")."""


def _compounds(language: str) -> dict[str, int]:
    """Return the one-word 21-99 of a language, built from its tables."""
    tens, units = TENS[language], {w: v for w, v in UNITS[language].items() if 1 <= v <= 9}
    if language == "de":
        units = {**{w: v for w, v in units.items() if w not in ("eins", "zwo")}, "ein": 1}
        return {f"{u}und{t}": tv + uv for t, tv in tens.items() for u, uv in units.items()}
    if language == "it":
        # venti + uno = ventuno, venti + otto = ventotto: the tens lose their vowel before a vowel.
        return {(t[:-1] if u[0] in "uo" else t) + u: tv + uv for t, tv in tens.items() for u, uv in units.items()}
    if language == "es":
        return {"veintiuno": 21, "veintiún": 21, "veintidós": 22, "veintitrés": 23, "veinticuatro": 24,
                "veinticinco": 25, "veintiséis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29}
    return {}


def _hundreds(language: str) -> dict[str, int]:
    """Return a language's hundred words, with German's one-word "einhundert"… "neunhundert"."""
    if language != "de":
        return HUNDREDS[language]
    units = {w: v for w, v in UNITS["de"].items() if 1 <= v <= 9 and w not in ("eins", "zwo")}
    return {**HUNDREDS["de"], "einhundert": 100, **{f"{u}hundert": v * 100 for u, v in units.items()}}


# --- Text folding and tokens.

_HIRAGANA = {chr(c): chr(c - 0x60) for c in range(0x30A1, 0x30F7)}
_KATAKANA_TO_HIRAGANA = str.maketrans(_HIRAGANA)
_LATIN = ("en", "es", "fr", "de", "it", "pt")


def _fold(text: str, language: str) -> str:
    """Return text as the tables are looked up: NFKC (full-width digits), case-folded, accents and kana folded."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if language in _LATIN:
        text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
        text = unicodedata.normalize("NFC", text)
    elif language == "ru":
        text = text.replace("ё", "е")
    elif language == "ja":
        text = text.translate(_KATAKANA_TO_HIRAGANA)
    return text


@dataclass(frozen=True)
class _Token:
    kind: str
    """digits, unit, article, teen, tens, number, hundred, tenmark, repeat, link, filler, pause or other."""
    value: int | str = 0
    ambiguous: bool = False


_NUMBER_KINDS = {"digits", "unit", "teen", "tens", "number", "hundred", "tenmark", "repeat"}


def _lexicon(language: str) -> dict[str, _Token]:
    """Return every word a language's tables know, folded, as the token it reads as."""
    entries: list[tuple[dict[str, int] | set[str], str]] = [
        (FILLERS[language], "filler"), (LINKS[language], "link"), (REPEATS.get(language, {}), "repeat"),
        (TEN_MARKS.get(language, set()), "tenmark"), (_hundreds(language), "hundred"), (_compounds(language), "number"),
        (TENS[language], "tens"), (TEENS[language], "teen"), (ARTICLES.get(language, {}), "article"),
        (UNITS[language], "unit"),
    ]
    ambiguous = {_fold(w, language) for w in AMBIGUOUS[language]}
    lexicon = {}
    # Later tables win: a word that is both a filler and a number word is a number word.
    for table, kind in entries:
        for word in table:
            key = _fold(word, language)
            if isinstance(table, dict):
                value = table[word]
            else:
                value = 10 if kind == "tenmark" else 0
            # A hundred alone is "a hundred percent", not a case number; in ja/zh every number word
            # is also a morpheme of ordinary words (一下, 十分, 三月).
            vague = key in ambiguous or kind == "hundred" or language in CJK
            lexicon[key] = _Token(kind, value, vague)
    return lexicon


_LEXICONS = {language: _lexicon(language) for language in UNITS}
_LONGEST = {language: max(map(len, _LEXICONS[language])) for language in CJK}
_WORD = re.compile(r"[0-9]+|[^\W\d_]+")


def _word_tokens(text: str, language: str) -> list[_Token]:
    lexicon, tokens = _LEXICONS[language], []
    for word in _WORD.findall(_fold(text, language)):
        if word.isdigit():
            tokens.append(_Token("digits", word))
        elif word in lexicon:
            tokens.append(lexicon[word])
        else:
            tokens.extend(_split_compound(word, lexicon) if language in COMPOUNDING else [_Token("other")])
    return tokens


_PARTS = {"unit", "teen", "tens", "number", "hundred", "link"}


def _split_compound(word: str, lexicon: dict[str, _Token]) -> list[_Token]:
    """Return the number words a word is made of, longest first; [other] unless number words cover it all."""
    if not word:
        return []
    for end in range(len(word), 0, -1):
        part = lexicon.get(word[:end])
        if part is not None and part.kind in _PARTS:
            rest = _split_compound(word[end:], lexicon)
            if rest and rest[0].kind == "other" and end < len(word):
                continue
            return [part, *rest]
    return [_Token("other")]


def _is_separator(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in "PSZ"


def _kana_script(ch: str) -> str | None:
    if "\u3041" <= ch <= "\u309f":
        return "hiragana"
    if "\u30a0" <= ch <= "\u30ff":
        return "katakana"
    return None


def _scanned_tokens(text: str, language: str) -> list[_Token]:
    """Split unspaced text into the longest table entries, digit runs, and single other characters."""
    lexicon, longest = _LEXICONS[language], _LONGEST[language]
    original = unicodedata.normalize("NFKC", text)
    # Folded character by character, so that an index into it is an index into the original.
    folded = "".join(_fold(ch, language) if len(_fold(ch, language)) == 1 else ch for ch in original)
    spans: list[tuple[_Token, int, int]] = []
    i = 0
    while i < len(folded):
        if folded[i] in "0123456789":
            j = i
            while j < len(folded) and folded[j] in "0123456789":
                j += 1
            spans.append((_Token("digits", folded[i:j]), i, j))
        elif _is_separator(folded[i]):
            # A space or comma ends a number written in kanji: "七 十二" is 7 12, not 七十二 = 72.
            j = i + 1
            if spans and spans[-1][0].kind != "pause":
                spans.append((_Token("pause"), i, j))
        else:
            j = next((i + n for n in range(min(longest, len(folded) - i), 0, -1) if folded[i:i + n] in lexicon), i + 1)
            spans.append((lexicon.get(folded[i:j], _Token("other")), i, j))
        i = j
    if language == "ja":
        spans = _unglue_kana(spans, original)
    return [token for token, _, _ in spans]


def _unglue_kana(spans: list[tuple[_Token, int, int]], original: str) -> list[tuple[_Token, int, int]]:
    """Make a one-kana reading written against other kana of its script part of that word: し in します, く in ください."""
    spans = list(spans)
    changed = True
    while changed:
        changed = False
        for n, (token, start, end) in enumerate(spans):
            script = _kana_script(original[start])
            if token.kind != "unit" or end - start != 1 or script is None:
                continue
            for m in (n - 1, n + 1):
                if 0 <= m < len(spans):
                    other, o_start, o_end = spans[m]
                    touching = o_end == start or o_start == end
                    if touching and other.kind == "other" and _kana_script(original[o_start]) == script:
                        spans[n] = (_Token("other"), start, end)
                        changed = True
                        break
    return spans


# --- Reading numbers from tokens.

def _isolated(run: list[_Token]) -> bool:
    """Say whether a run is one everyday-looking number word with no number beside it."""
    numbers = [t for t in run if t.kind in _NUMBER_KINDS]
    return len(numbers) == 1 and numbers[0].ambiguous


class _Reader:
    """Read one run of adjacent number tokens (fillers removed) into digits, group by group."""

    def __init__(self, tokens: list[_Token], language: str):
        self.tokens, self.language = tokens, language

    def kind(self, i: int) -> str | None:
        return self.tokens[i].kind if i < len(self.tokens) else None

    def value(self, i: int):
        return self.tokens[i].value

    def is_unit(self, i: int) -> bool:
        """Say whether a 1-9 is at i, an article included ("treinta y un")."""
        return self.kind(i) in ("unit", "article") and 1 <= self.value(i) <= 9

    def digits(self) -> str:
        """Return the run's digits: each group's own, in order."""
        out, i = [], 0
        while i < len(self.tokens):
            kind = self.kind(i)
            if kind == "digits":
                out.append(self.value(i))
                i += 1
            elif kind == "repeat":
                if self.kind(i + 1) == "unit":
                    out.append(str(self.value(i + 1)) * self.value(i))
                    i += 2
                else:
                    i += 1
            else:
                number, j = self.number(i)
                if number is not None:
                    out.append(str(number))
                i = max(j, i + 1)
        return "".join(out)

    def number(self, i: int) -> tuple[int | None, int]:
        """Read a group below 1000 at i: a unit, teen, tens(+unit), hundred(+rest)."""
        value, j = self.small(i)
        if self.kind(j) != "hundred":
            return value, j
        hundred = self.value(j)
        if value is not None:
            if not (self.language in MULTIPLIED_HUNDREDS and hundred == 100 and 1 <= value <= 99):
                return value, j
            hundred *= value
        rest, k = self.rest(j + 1)
        return hundred + rest, k

    def rest(self, i: int) -> tuple[int, int]:
        """Read the 1-99 after a hundred ("one hundred and seven", 一百零七); 0 if none follows."""
        j = i
        if self.kind(j) == "link":
            j += 1
        elif self.language == "zh" and self.kind(j) == "unit" and self.value(j) == 0 and self.is_unit(j + 1):
            j += 1
        value, k = self.small(j)
        if value is not None and 1 <= value <= 99:
            return value, k
        return 0, i

    def small(self, i: int) -> tuple[int | None, int]:
        """Read a group below 100 at i, or (None, i)."""
        kind = self.kind(i)
        if kind == "tenmark":
            if self.is_unit(i + 1):
                return 10 + self.value(i + 1), i + 2
            return 10, i + 1
        if kind in ("unit", "article"):
            unit = self.value(i)
            if self.kind(i + 1) == "tenmark" and 1 <= unit <= 9:
                if self.is_unit(i + 2):
                    return unit * 10 + self.value(i + 2), i + 3
                return unit * 10, i + 2
            if self.language in UNIT_FIRST and 1 <= unit <= 9 and self.kind(i + 1) == "link" \
                    and self.kind(i + 2) == "tens" and self.value(i + 2) >= 20:
                return self.value(i + 2) + unit, i + 3
            # quatre-vingt(s) = 80, in every French-speaking country that does not say huitante.
            if self.language == "fr" and unit == 4 and self.kind(i + 1) == "tens" and self.value(i + 1) == 20:
                return self.tens(80, i + 2)
            if kind == "article":
                return None, i
            return unit, i + 1
        if kind in ("teen", "number"):
            return self.value(i), i + 1
        if kind == "tens":
            return self.tens(self.value(i), i + 1)
        return None, i

    def tens(self, tens: int, i: int) -> tuple[int, int]:
        """Add the unit (or, in French 60/80, the 10-19) after a tens word, if one follows."""
        if self.language in UNIT_FIRST:
            return tens, i
        j = i + 1 if self.kind(i) == "link" and self.language in TENS_LINKED else i
        if self.is_unit(j):
            return tens + self.value(j), j + 1
        # soixante-dix-huit = 60 + 18, quatre-vingt-onze = 80 + 11, soixante et onze = 71.
        if self.language == "fr" and tens in (60, 80) and (
                self.kind(j) == "teen" or (self.kind(j) == "tens" and self.value(j) == 10)):
            low, k = self.small(j)
            return tens + low, k
        return tens, i


def spoken_digits(text: str, language: str) -> str:
    """Return the digits a caller said, in order; words that are not numbers are skipped."""
    tokens = _scanned_tokens(text, language) if language in CJK else _word_tokens(text, language)
    runs: list[list[_Token]] = [[]]
    for token in tokens:
        if token.kind == "other":
            runs.append([])
        elif token.kind != "filler":
            runs[-1].append(token)
    return "".join(_Reader(run, language).digits() for run in runs if run and not _isolated(run))


# --- Speech hints.

DIGIT_SEQUENCE_CLASS = "$OOV_CLASS_DIGIT_SEQUENCE"
"""Google's class token for a run of digits. Twilio's <Gather hints> takes class tokens as well as words;
a provider without class tokens ignores it with warning 13330 (invalid hints value), not an error."""


def _hints(language: str) -> str:
    words = [DIGIT_SEQUENCE_CLASS]
    for table in (UNITS[language], TEENS[language], TENS[language], TEN_MARKS.get(language, set())):
        for word in table:
            # A lone letter ("o") would pull ordinary speech towards digits; Japanese recognition
            # writes numbers in kanji or katakana, never in the hiragana readings.
            if word in words or (len(word) == 1 and language not in CJK) or _kana_script(word[0]) == "hiragana":
                continue
            words.append(word)
    return ", ".join(words)


SPEECH_HINTS: dict[str, str] = {language: _hints(language) for language in UNITS}
"""<Gather hints="…"> per language: the digit-sequence class token and the language's number words."""


# --- Yes or no.

YES: dict[str, set[str]] = {
    "en": {"yes", "yeah", "yep", "yup", "correct", "right", "that's right", "exactly", "affirmative",
           "that is right", "that is correct"},
    "es": {"sí", "correcto", "exacto", "eso es", "así es", "claro", "cierto", "efectivamente"},
    "fr": {"oui", "ouais", "exact", "exactement", "c'est ça", "c'est bien ça", "correct", "tout à fait", "voilà",
           "absolument"},
    "de": {"ja", "jawohl", "genau", "richtig", "korrekt", "stimmt", "passt", "exakt"},
    "ru": {"да", "верно", "правильно", "точно", "именно", "ага"},
    "it": {"sì", "esatto", "esattamente", "giusto", "corretto", "certo", "confermo"},
    "pt": {"sim", "isso", "isso mesmo", "é isso", "correto", "certo", "exato", "exatamente"},
    "ja": {"はい", "ええ", "うん", "そうです", "その通り", "そのとおり", "正しい", "正しいです", "合っています", "合ってます",
           "あっています", "あってます"},
    "zh": {"是", "是的", "对", "对的", "对啊", "没错", "没有错", "正确"},
}

NO: dict[str, set[str]] = {
    "en": {"no", "nope", "nah", "wrong", "incorrect", "negative", "not it", "that's not it"},
    "es": {"no", "incorrecto", "falso", "equivocado"},
    "fr": {"non", "faux", "incorrect", "inexact", "pas ça", "pas du tout"},
    # "stimmt nicht" is matched whole before "stimmt"; YES has no "das stimmt", which would swallow it.
    "de": {"nein", "nee", "nö", "falsch", "stimmt nicht", "inkorrekt"},
    "ru": {"нет", "неверно", "неправильно", "не так", "ошибка"},
    "it": {"no", "sbagliato", "errato", "non è così"},
    "pt": {"não", "errado", "incorreto"},
    # ううん (no) and 正しくない are matched whole, before うん and 正しい could be.
    "ja": {"いいえ", "いや", "ううん", "違います", "違う", "ちがいます", "ちがう", "正しくない", "正しくありません",
           "そうじゃない", "そうではない", "そうではありません", "間違い", "間違っています"},
    "zh": {"不", "不是", "不对", "不正确", "错", "错了", "没有", "否"},
}

NEGATORS: dict[str, set[str]] = {
    "en": {"not", "isn't", "never"}, "es": {"no"}, "fr": {"pas", "ne"}, "de": {"nicht", "nie"}, "ru": {"не"},
    "it": {"non"}, "pt": {"não"}, "ja": set(), "zh": {"不", "没"},
}
"""Words that turn a yes-word after them into a no: "not right", "no es correcto", "non è giusto", 不太对."""

_NEGATION_REACH = 2
"""How many words before a yes-word a negator still reaches ("is not quite right")."""


def _phrase_key(phrase: str, language: str) -> tuple[str, ...] | str:
    folded = _fold(phrase, language).replace("'", "").replace("\u2019", "")
    return folded if language in CJK else tuple(_WORD.findall(folded))


_ANSWERS = {
    language: {**{_phrase_key(p, language): "no" for p in NO[language]},
               **{_phrase_key(p, language): "yes" for p in YES[language]}}
    for language in YES
}
_NEGATORS = {language: {_phrase_key(w, language) for w in NEGATORS[language]} for language in NEGATORS}


def _answer_units(text: str, language: str) -> list[tuple[str, str | tuple[str, ...]]]:
    """Split an answer into the longest known phrases ("yes"/"no") and single other words or characters."""
    answers = _ANSWERS[language]
    folded = _fold(text, language).replace("'", "").replace("\u2019", "")
    if language in CJK:
        units: list = [ch for ch in folded if not _is_separator(ch)]
        join = "".join
    else:
        units = _WORD.findall(folded)
        join = tuple
    longest = max(len(k) for k in answers)
    out, i = [], 0
    while i < len(units):
        for n in range(min(longest, len(units) - i), 0, -1):
            key = join(units[i:i + n])
            if key in answers:
                out.append((answers[key], key))
                i += n
                break
        else:
            out.append(("other", join(units[i:i + 1])))
            i += 1
    return out


def spoken_yes_no(text: str, language: str) -> bool | None:
    """Return True for a yes, False for a no, None when the answer is unclear or both."""
    units = _answer_units(text, language)
    negators = _NEGATORS[language]
    said = set()
    for n, (meaning, key) in enumerate(units):
        if meaning == "yes" and any(k in negators for _, k in units[max(0, n - _NEGATION_REACH):n]):
            meaning = "no"
        if meaning != "other":
            said.add(meaning)
    if said == {"yes"}:
        return True
    if said == {"no"}:
        return False
    return None
