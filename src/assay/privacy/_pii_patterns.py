"""The PII patterns and their validators (offline, our own): one regex per kind, and for the kinds
a regex cannot settle a check on the matched text (Luhn, mod-97, digit counts, address syntax).

Kinds, in the order overlapping matches are resolved (an earlier kind wins the characters):
secret, email, iban, card, ssn, ipv6, ipv4, date_of_birth, phone. Header kinds (the column's name
says what every value is): name, date_of_birth, ssn.
"""

from __future__ import annotations

import ipaddress
import re

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (rf"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})"
         rf"|\d{{1,2}} {_MONTH},? \d{{4}}|{_MONTH} \d{{1,2}},? \d{{4}})")

#: kind -> pattern; the text of group 1 (the whole match where there is no group) is the finding.
PATTERNS: dict[str, str] = {
    "secret": (r"(?:\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key id
               r"|\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}"  # GitHub tokens
               r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
               r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
               r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API key
               r"|\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"  # OpenAI-style keys
               r"|-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"
               r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JSON web token
               r"|(?i:\b(?:api[_-]?key|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token|password|passwd|pwd)"
               r"\b\s*[:=]\s*['\"]?[^\s'\"]{8,}))"),
    "email": r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
    "iban": r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])",
    "card": r"(?<![\w+.-])(?:\d[ -]?){12,18}\d(?!\w)(?![ -]\d)",
    "ssn": r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])",
    "ipv6": r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])",
    "ipv4": (r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
             r"(?!\w)(?!\.\d)"),
    "date_of_birth": rf"(?i:\b(?:born(?: on)?|d\.?o\.?b\.?|date of birth|birth ?date|birthday)\s*[:\-]?\s*({_DATE}))",
    "phone": (r"(?<![\w+.-])(?:\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}"
              r"|(?:\(\d{3}\)[ .-]?|\b\d{3}[ .-])\d{3}[ .-]\d{4}"
              r"|\b0\d{1,4}[ -]?\d{3,4}[ -]?\d{3,4})(?!\w)(?![ .-]\d)"),
}
TEXT_KINDS = tuple(PATTERNS)
HEADER_KINDS = ("name", "date_of_birth", "ssn")
KINDS = ("email", "phone", "card", "iban", "ipv4", "ipv6", "ssn", "date_of_birth", "name", "secret")

COMPILED = {kind: re.compile(pattern) for kind, pattern in PATTERNS.items()}
#: Cheap necessary conditions for ``Series.str.contains`` (the prefilter over all distinct values;
#: :func:`spans` then runs the full pattern on the candidates): a literal (no regex) or a pattern
#: that every match of the kind's full pattern contains.
PREFILTERS: dict[str, str | re.Pattern] = {
    "secret": re.compile(r"AKIA|ASIA|gh[pousr]_|github_pat_|xox[abposr]-|[sr]k_(?:live|test)_|AIza|sk-|PRIVATE KEY"
                         r"|eyJ|(?i:api|secret|token|passw|pwd)"),
    "email": "@",
    "iban": re.compile(r"[A-Z]{2}\d{2}"),
    "card": COMPILED["card"],
    "ssn": re.compile(r"\d{3}-\d{2}-\d{4}"),
    "ipv6": ":",
    "ipv4": re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d"),
    "date_of_birth": re.compile(r"(?i:born|d\.?o\.?b|birth)"),
    "phone": COMPILED["phone"],
}

#: Headers that say what every value of the column is.
HEADERS = {
    "name": re.compile(r"(?i)^(?:(?:first|last|middle|given|family|full|maiden|sur|fore|patient|customer|client"
                       r"|employee|person|contact|user)[ _-]?)?name$|^(?:surname|forename|fullname)$"),
    "date_of_birth": re.compile(r"(?i)(?:^|[\W_])(?:dob|birth|born|birthday|birth_?date|date_?of_?birth)"
                                r"(?:$|[\W_])|^(?:dob|birthdate|birthday|dateofbirth)$"),
    "ssn": re.compile(r"(?i)^(?:ssn|social[ _-]?security(?:[ _-]?(?:number|no|nr))?)$"),
}
HEADER_VALUES = {
    "name": re.compile(r"[^\W\d_]"),
    "date_of_birth": re.compile(rf"(?i)^\s*{_DATE}(?:[ T]\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?\s*$"),
    "ssn": re.compile(r"^\s*\d{3}-?\d{2}-?\d{4}\s*$"),
}

#: IBAN length per country (ISO 13616 registry, SEPA and neighbours); other codes: 15..34 characters.
IBAN_LENGTHS = {"AD": 24, "AE": 23, "AL": 28, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
                "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22,
                "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "KW": 30,
                "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
                "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
                "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29,
                "VG": 24, "XK": 20}


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) checksum of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616 IBAN: known length for the country code, then mod 97 of the rearranged number == 1."""
    iban = text.replace(" ", "").upper()
    expected = IBAN_LENGTHS.get(iban[:2])
    if (expected is not None and len(iban) != expected) or not 15 <= len(iban) <= 34 or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _card(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    separators = set(re.sub(r"\d", "", text))
    return (13 <= len(digits) <= 19 and digits[0] in "23456" and len(separators) <= 1 and luhn_valid(digits))


def _phone(text: str) -> bool:
    return 8 <= sum(ch.isdigit() for ch in text) <= 15


def _ipv6(text: str) -> bool:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return not (address.is_unspecified or address.is_loopback)


VALIDATORS = {"card": _card, "iban": iban_valid, "phone": _phone, "ipv6": _ipv6}


def spans(text: str, kinds: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """Validated findings ``(kind, start, end)`` in ``text``; overlaps go to the earlier kind of
    :data:`TEXT_KINDS`."""
    taken: list[tuple[int, int]] = []
    out = []
    for kind in TEXT_KINDS:
        if kind not in kinds:
            continue
        check = VALIDATORS.get(kind)
        for match in COMPILED[kind].finditer(text):
            group = 1 if match.re.groups else 0
            start, end = match.span(group)
            if start == end or any(start < b and a < end for a, b in taken):
                continue
            if check is not None and not check(match.group(group)):
                continue
            taken.append((start, end))
            out.append((kind, start, end))
    return out


def mask_text(text: str) -> str:
    """``text`` with every letter and digit replaced by "*" except the last min(2, n // 4) of them
    (separators kept): "4111 1111 1111 1111" -> "**** **** **** **11"."""
    n = sum(ch.isalnum() for ch in text)
    keep = min(2, n // 4)
    out, seen = [], 0
    for ch in text:
        if ch.isalnum():
            seen += 1
            out.append(ch if seen > n - keep else "*")
        else:
            out.append(ch)
    return "".join(out)
