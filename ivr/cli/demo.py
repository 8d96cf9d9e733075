"""Sample directory data for `ivr serve --demo`: every plan, region, language and outcome."""
from __future__ import annotations

from ivr.config import Settings

REGION_DIGIT = {"us": "1", "ca": "2", "emea": "3", "apac": "4", "latam": "5"}
PLANS = ("evaluation", "basic", "production", "premium", "community", "free", "nfr")
NAMES = {"en": "Alex Morgan", "es": "Lucía Romero", "fr": "Camille Martin", "de": "Anna Weber",
         "ru": "Ivan Petrov", "it": "Giulia Conti", "ja": "Yui Sato", "zh": "Li Wei", "pt": "Ana Souza"}

OUTCOMES = (
    # (suffix, account plan key, case status, case type, severity, engineer key, what a call gets)
    ("0001", "production", "open", "technical", 2, "first", "rings the engineer who worked the case"),
    ("0002", "premium", "open", "technical", 1, None, "queues (premium, 30-minute target)"),
    ("0003", "production", "open", "licensing", 3, "busy",
     "queues, held for its engineer, on another call for the first two minutes; then offered to them first"),
    ("0004", "basic", "open", "technical", 2, None, "queues in business hours, refused outside them"),
    ("0005", "evaluation", "awaiting_customer", "technical", 1, None, "queues Mon-Fri 08-17 (evaluation)"),
    ("0006", "production", "closed", "technical", 2, None, "refused: case_closed"),
    ("0007", "production", "open", "general", 4, None, "refused: general_inquiry"),
    ("0008", "community", "open", "technical", 2, None, "refused: no_phone_support"),
    ("0009", "expired", "open", "technical", 2, None, "refused: maintenance_expired"),
    ("0010", "production", "cancelled", "technical", 2, None, "refused: case_closed (cancelled)"),
)


def demo_document(settings: Settings) -> tuple[dict, list[tuple[str, str, str]]]:
    """Return the sample directory and (line, case, expected outcome) rows to try."""
    accounts, engineers, cases, guide = [], [], [], []
    lines = {}
    for line in settings.lines.values():
        lines.setdefault(line.region, line)
    for region, digit in REGION_DIGIT.items():
        if region not in settings.regions:
            continue
        languages = settings.regions[region].languages
        for plan in PLANS:
            accounts.append({"id": f"{region}-{plan}", "name": f"{region.upper()} {plan.title()} Ltd",
                             "plan": plan, "partner": False, "maintenance_expires": "2099-12-31", "timezone": None})
        accounts.append({"id": f"{region}-expired", "name": f"{region.upper()} Lapsed Inc", "plan": "production",
                         "maintenance_expires": "2020-01-31", "timezone": None})
        for lang in languages:
            engineers.append({"id": f"{region}-{lang}", "name": NAMES[lang], "languages": sorted({lang, "en"}),
                              "regions": [region], "client": f"{region}-{lang}", "phone": None, "active": True})
        engineers.append({"id": f"{region}-busy", "name": "Sam Taylor", "languages": list(languages),
                          "regions": [region], "client": f"{region}-busy", "phone": None, "active": True})
        for suffix, plan, status, kind, severity, engineer, outcome in OUTCOMES:
            number = f"{digit}000{suffix}"
            owner = {"first": f"{region}-{languages[0]}", "busy": f"{region}-busy"}.get(engineer)
            cases.append({"number": number, "account": f"{region}-{plan}", "type": kind, "severity": severity,
                          "status": status, "engineer": owner})
            guide.append((lines[region].number, number, outcome))
        for j, lang in enumerate(languages, start=1):
            number = f"{digit}1{j}00001"
            cases.append({"number": number, "account": f"{region}-production", "type": "technical", "severity": 2,
                          "status": "open", "engineer": f"{region}-{lang}"})
            guide.append((lines[region].number, number, f"in {lang} (key {j}): rings {NAMES[lang]}"))
    if "emea" in settings.regions:
        accounts.append({"id": "emea-partner", "name": "Cloud Partner BV", "plan": "basic", "partner": True,
                         "maintenance_expires": "2099-12-31", "timezone": "Europe/Amsterdam"})
        cases.append({"number": "39000001", "account": "emea-partner", "type": "technical", "severity": 1,
                      "status": "open", "engineer": None})
        partner = next((ln for ln in settings.lines.values() if ln.audience == "partner"), lines["emea"])
        guide.append((partner.number, "39000001", "partner line: queues 24/7 (production level)"))
    return {"accounts": accounts, "engineers": engineers, "cases": cases}, guide


DEMO_CALL_SECONDS = 120
"""How long `ivr serve --demo`'s busy engineers stay on their (imaginary) call before they are free."""

DEMO_PRESENCE = "available"
"""Every demo engineer is ready for calls except the ones named busy."""


def demo_presence(document: dict) -> dict[str, str]:
    return {e["id"]: ("busy" if e["id"].endswith("-busy") else DEMO_PRESENCE) for e in document["engineers"]}
