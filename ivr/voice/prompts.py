"""Every sentence the caller or engineer hears, one msgid each, translated in locales/.

Placeholders are named; values are filled in at speaking time. `N_` only marks a msgid
for `pybabel extract`; `speech.py` looks the text up in the caller's catalog.
"""
from __future__ import annotations


def N_(message: str) -> str:
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    return singular, plural


# TRANSLATORS: one menu option, spoken in its own language and voice. Name YOUR language,
# e.g. the Spanish catalog says "Para español, oprima %(key)s." and German "Für Deutsch, drücken Sie die %(key)s."
LANGUAGE_OPTION = N_("For English, press %(key)s.")
# The greeting, said in the line's first language before the menu: it names the company and where the
# caller has reached. A region an operator adds without its own sentence gets WELCOME.
WELCOME = N_("Thank you for calling %(company)s technical support.")
WELCOME_REGION = {
    "us": N_("Thank you for calling %(company)s technical support for the United States."),
    "ca": N_("Thank you for calling %(company)s technical support for Canada."),
    "emea": N_("Thank you for calling %(company)s technical support for Europe, the Middle East and Africa."),
    "apac": N_("Thank you for calling %(company)s technical support for Asia-Pacific."),
    "latam": N_("Thank you for calling %(company)s technical support for Latin America."),
}
WELCOME_PARTNER = N_("Thank you for calling the %(company)s partner support line.")
LANGUAGE_NOT_OFFERED = N_("Sorry, that key is not one of the choices.")
# TRANSLATORS: said when the caller chose no language twice and the call goes on in this catalog's language.
# Name YOUR language, e.g. German "Wir machen auf Deutsch weiter."
CONTINUING_IN_LANGUAGE = N_("We will continue in English.")

# TRANSLATORS: "star" is the * key on the phone's keypad.
ASK_CASE = N_(
    "Please enter your eight-digit case number, or say it. You will find it in the e-mail that confirmed your "
    "case, and on the customer portal. If you do not have a case number, press star.")
ASK_CASE_AGAIN = N_("Please enter your eight-digit case number, or say it digit by digit.")
CASE_MALFORMED = N_("Sorry, a case number has eight digits.")
CASE_NO_INPUT = N_("Sorry, we did not get a case number.")
CASE_UNKNOWN = N_("Sorry, we could not find case %(case)s.")
# TRANSLATORS: read back after the caller SAID the number; %(case)s is read digit by digit.
CASE_READ_BACK = N_(
    "You said case number %(case)s. If that is right, press 1 or say yes. If not, press 2 or say no.")
# Said, then the call ends, when a calling number has given too many wrong case numbers lately.
TOO_MANY_TRIES = N_(
    "Sorry, too many case numbers that we could not find have been entered from this phone number. You will "
    "find your case number in the e-mail that confirmed your case, and on the customer portal at %(portal)s. "
    "Please call us again later. Goodbye.")
CASE_CLOSED_TRY_ANOTHER = N_(
    "Case %(case)s is no longer open. If you meant another case, please enter or say its number now.")

# What the caller hears when phone support is refused: why, and what to do instead. The options that
# follow (hear it again, the portal by text message, a callback) and the goodbye are separate sentences.
REFUSED = {
    "case_not_found": N_(
        "We could not find your case. Phone support needs a case opened first on the customer "
        "portal at %(portal)s. Once you have a case number, please call us again."),
    "no_case_number": N_(
        "We did not get a case number. You will find it in the e-mail that confirmed your case, and on the "
        "customer portal at %(portal)s. If you do not have a case yet, please open one there, then call us again."),
    "no_case": N_(
        "Phone support starts from a support case. Please open a case on the customer portal at %(portal)s. "
        "We will send you its number by e-mail; then please call us again with that number."),
    "case_closed": N_(
        "Case %(case)s is no longer open. Please open a new case on the customer portal at "
        "%(portal)s that mentions case %(case)s, then call us with the new case number."),
    "no_phone_support": N_(
        "Your support plan does not include phone support. Please contact us through the customer "
        "portal at %(portal)s or by e-mail at %(email)s."),
    "maintenance_expired": N_(
        "Your maintenance contract has expired, so phone support is not available. To renew it, "
        "please contact %(renewals)s. You can also write to us through the customer portal at %(portal)s."),
    "general_inquiry": N_(
        "Case %(case)s is a general inquiry. We answer those through the customer portal at "
        "%(portal)s or by e-mail at %(email)s, not by phone."),
    # TRANSLATORS: %(when)s is a phrase such as "tomorrow at 8 AM" or "on Monday at 8 AM", already in
    # your language; the account's own time zone is the caller's.
    "outside_hours": N_(
        "Phone support for your plan is closed right now. It opens again %(when)s, your local time."),
}
# TRANSLATORS: as the outside-hours refusal, when the time is in the line's zone, not the caller's:
# %(city)s is the zone's city in your language, e.g. "8 AM London time", German "8 Uhr Londoner Zeit".
OUTSIDE_HOURS_ZONE = N_(
    "Phone support for your plan is closed right now. It opens again %(when)s, %(city)s time.")
# TRANSLATORS: %(opens)s and %(closes)s are times of day such as "8 AM" and "5 PM", already in your language.
PLAN_HOURS_WEEKDAYS = N_("Your plan includes phone support Monday to Friday, from %(opens)s to %(closes)s.")
PORTAL_ANY_TIME = N_("You can update your case on the customer portal at %(portal)s at any time.")
# TRANSLATORS: "star" is the * key on the phone's keypad.
REPEAT_OFFER = N_("To hear this again, press star.")
GOODBYE = N_("Thank you for calling. Goodbye.")

PORTAL_SMS_OFFER = N_("To get the customer portal's address by text message, press %(key)s now.")
PORTAL_SMS_SENT = N_("We have sent it to the number you are calling from. Goodbye.")
PORTAL_SMS_ALREADY_SENT = N_("We have already sent it to this number today. Goodbye.")
# TRANSLATORS: a text message (SMS): keep it short; the portal's address is sent as it is.
PORTAL_SMS_NEW_CASE = N_(
    "Technical support: please open a case on the customer portal at %(portal)s, then call us with its number.")
# TRANSLATORS: a text message (SMS): keep it short; the case number is written as digits.
PORTAL_SMS_CLOSED_CASE = N_(
    "Technical support: case %(case)s is no longer open. Please open a new case at %(portal)s that mentions "
    "case %(case)s, then call us with the new number.")
# TRANSLATORS: a text message (SMS): keep it short; the portal's address is sent as it is.
PORTAL_SMS_PORTAL = N_("Technical support: our customer portal is at %(portal)s.")
# TRANSLATORS: a text message (SMS): %(renewals)s is an e-mail address or phone number, sent as it is.
PORTAL_SMS_RENEWAL = N_(
    "Technical support: to renew your maintenance contract, please contact %(renewals)s. Customer portal: %(portal)s.")

CONNECTING_ENGINEER = N_("Connecting you to %(engineer)s, who has been working on your case. Please hold.")
ENGINEER_UNAVAILABLE = N_(
    "Your engineer is not available right now, so we are passing your call to the next "
    "available engineer.")
ENTERING_QUEUE = N_(
    "Thank you. All our engineers are helping other customers. Please stay on the line and the "
    "next available engineer will take your call.")
OVERFLOW_TO_ENGLISH = N_(
    "No engineer who speaks your language is available right now, so we are passing your call "
    "to our English-speaking team.")
OVERFLOW_OTHER = N_(
    "No engineer for your queue is available right now, so we are passing your call to "
    "another team.")
QUEUE_NEXT = N_("You are next in line.")
QUEUE_AHEAD = NP_(
    "There is %(num)d caller ahead of you.",
    "There are %(num)d callers ahead of you.")
HELD_FOR_ENGINEER = N_(
    "The engineer working on your case is on another call. We are keeping your call for them, "
    "and they will take it as soon as they are free. Please stay on the line.")
EXPECTED_WAIT = NP_(
    "Your expected wait is about %(num)d minute.",
    "Your expected wait is about %(num)d minutes.")
CALLER_CONNECTING = N_("Thank you for waiting. An engineer is taking your call now.")
OFFER_CALLBACK = N_("If you would rather we call you back, press %(key)s now.")
CALLBACK_RECORDED = N_(
    "Thank you. We have recorded your callback request for case %(case)s, and an engineer will "
    "call you back at the number you are calling from. Goodbye.")
OFFER_MANAGER = N_("To ask for the duty manager, press %(key)s.")
MANAGER_REQUESTED = N_(
    "We have told the duty manager, who will call you back about case %(case)s. Please stay on the line for "
    "the next available engineer.")
CALLBACK_CONFIRM_NUMBER = N_(
    "We will call you back at %(number)s, and you keep your place in line. To confirm, press %(key)s. "
    "To keep holding, press any other key.")
CALLBACK_ENTER_NUMBER = N_(
    "Please enter the phone number we should call you back on, followed by the pound key.")
CALLBACK_NUMBER_INVALID = N_("Sorry, we cannot call that number back. Please stay on the line.")
CALLBACK_CONFIRMED = N_(
    "Thank you. We have recorded your callback request for case %(case)s. An engineer will call you "
    "back at %(number)s when it is your turn. Goodbye.")
CALLBACK_CONFIRMED_NO_CASE = N_(
    "Thank you. We have recorded your callback request. An engineer will call you back at "
    "%(number)s when it is your turn. Goodbye.")
QUEUE_FULL_CALLBACK = N_(
    "All our engineers are busy and we cannot hold more calls right now. We have recorded a callback "
    "request for case %(case)s, and an engineer will call you back at %(number)s. Goodbye.")
OUTSIDE_HOURS_CALLBACK_OFFER = N_("If you would like us to call you back when we open, press %(key)s now.")
# TRANSLATORS: %(when)s is a phrase such as "tomorrow at 8 AM" or "on Monday at 8 AM", already in your language.
OUTSIDE_HOURS_CALLBACK_RECORDED = N_(
    "Thank you. An engineer will call you back at %(number)s about case %(case)s after we open "
    "%(when)s. Goodbye.")
CALLBACK_GREETING = N_(
    "Hello, this is technical support calling you back about case %(case)s. Connecting you to an "
    "engineer now.")
LONG_WAIT = N_("We are sorry to keep you waiting so long.")
QUEUE_FAILED = N_(
    "Sorry, we could not put your call through. Please call again in a few minutes, or update "
    "your case on the customer portal at %(portal)s. Goodbye.")
TECHNICAL_TROUBLE = N_(
    "We are sorry, we are having technical difficulties. Please stay on the line for the next "
    "available engineer.")

# Heard by the engineer before the caller is connected.
# TRANSLATORS: %(engineer)s is the engineer who hears this, by name.
WHISPER = N_(
    "%(engineer)s, a support call for case %(case)s. Plan: %(plan)s. Severity %(severity)s. The caller speaks "
    "%(language)s.")
CALLBACK_WHISPER = N_(
    "Callback for case %(case)s. Plan: %(plan)s. Severity %(severity)s. The customer speaks "
    "%(language)s. We will call the customer once you take it.")
CALLBACK_NO_ANSWER = N_("The customer did not answer. We will try again later. Goodbye.")
OFFER_ACCEPT = N_("To take this call, press %(key)s.")
OFFER_CONNECTING = N_("Connecting you to the caller.")
OFFER_NOT_TAKEN = N_("This call will be offered to another engineer. Goodbye.")
OFFER_CALLER_GONE = N_(
    "Sorry, the caller hung up before you were connected. You are free for the next call. Goodbye.")
PLAN_NAMES = {
    "evaluation": N_("Evaluation"),
    "basic": N_("Basic"),
    "production": N_("Production"),
    "premium": N_("Premium"),
}

# Sent as a text message (SMS), not spoken: to the number that last called about a case cancelled
# after unanswered contact attempts on three business days (SPEC §5.9).
# TRANSLATORS: a text message (SMS) to the customer, read, not heard. %(case)s is the old case number,
# %(portal)s the portal's address.
CASE_CANCELLED_SMS = N_(
    "Technical support: we tried to reach you about case %(case)s on three different business days "
    "without success, so the case has been cancelled. If you still need help, please open a new case "
    "on the customer portal at %(portal)s that mentions case %(case)s.")
