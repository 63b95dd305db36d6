"""Numbers as Japanese design documents write them: 99.9％, 約43分, 4.38 時間/年, ¥100,000, 10万円.

Every parser takes raw or `normalize_cell`-ed text, folds it again (NFKC, 約, commas) and
returns None when the value cannot be read — callers treat None as unknown, never as zero.
"""

from __future__ import annotations

import re
from functools import lru_cache
import unicodedata
from dataclasses import dataclass

from sre_agent.parsing.markdown import normalize_cell

MINUTES_PER = {"month30": 30 * 24 * 60, "month31": 31 * 24 * 60, "month28": 28 * 24 * 60,
               "month_avg": 365 * 24 * 60 / 12, "year": 365 * 24 * 60, "year366": 366 * 24 * 60}

_APPROX_ANYWHERE = re.compile(r"(?:約|およそ|概ね|(?:^|(?<=[\s(]))[~〜])\s*(?=[0-9$¥])")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_UNIT_MINUTES = {"秒": 1 / 60, "s": 1 / 60, "sec": 1 / 60, "分": 1.0, "min": 1.0, "mins": 1.0,
                 "minutes": 1.0, "時間": 60.0, "h": 60.0, "hr": 60.0, "hrs": 60.0, "hours": 60.0,
                 "hour": 60.0, "日": 1440.0, "days": 1440.0, "day": 1440.0}
_DURATION = re.compile(
    r"(?P<pre>月間|毎月|月あたり|1か月|1ヶ月|年間|毎年|年あたり|per month|per year|monthly|yearly)?"
    r"\s*(?P<num>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>時間|分|秒|日|minutes|mins|min|hours|hour|hrs|hr|h|days|day|sec|s)(?![a-zA-Z])"
    r"(?:\s*(?:/|per\s*)\s*(?P<post>月|年|month|year|yr|mo))?",
    re.IGNORECASE)
_APPROX_BEFORE = re.compile(r"(?:約|およそ|概ね|概算|[~〜])\s*$")
_APPROX_AFTER = re.compile(r"^\s*(?:程度|前後|ほど|くらい|ぐらい|弱|強)")
_MONEY = re.compile(
    r"(?:(?<![\w$¥.,])(?P<sign>[-−△▲])\s*)?"  # -$552 / △1,200円 (a minus, not the dash of 100-200円)
    r"(?P<pre>\$|US\$|USD\s*|¥|JPY\s*)?\s*(?P<num>\d[\d,]*(?:\.\d+)?)\s*"
    r"(?P<man>万|千)?\s*(?P<post>円|ドル|USD|JPY|\$)?",
    re.IGNORECASE)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """normalize_cell plus 約 anywhere before a number and thousands separators kept intact."""
    return _APPROX_ANYWHERE.sub("", normalize_cell(text))


def percents(text: str) -> list[tuple[float, int]]:
    """Every percentage in the text with its character offset."""
    return [(float(m.group(1)), m.start()) for m in _PERCENT.finditer(fold(text))]


@dataclass(frozen=True)
class Duration:
    minutes: float
    period: str | None  # "month" | "year" | None (not stated)
    text: str
    unit_minutes: float  # minutes per unit as written (rounding tolerance: half a unit)
    decimals: int
    offset: int = 0


def durations(text: str) -> list[Duration]:
    """Durations such as 月間43.2分, 4.38 時間/年, 年間 8.76 時間, 5分 (period None)."""
    found = []
    folded = fold(text)
    for m in _DURATION.finditer(folded):
        unit = _UNIT_MINUTES.get(m.group("unit").lower())
        if unit is None:
            continue
        marker = (m.group("pre") or m.group("post") or "").lower()
        period = None
        if marker in ("月間", "毎月", "月あたり", "1か月", "1ヶ月", "per month", "monthly", "月",
                      "month", "mo"):
            period = "month"
        elif marker in ("年間", "毎年", "年あたり", "per year", "yearly", "年", "year", "yr"):
            period = "year"
        num = m.group("num")
        decimals = len(num.split(".")[1]) if "." in num else 0
        found.append(Duration(float(num) * unit, period, m.group(0).strip(), unit, decimals,
                              m.start()))
    return found


def minutes(text: str) -> float | None:
    """The first duration in the text in minutes; 0 / 0分 / ゼロ count as zero."""
    folded = fold(text)
    if re.match(r"^\s*(0|ゼロ|なし)\s*(?:[（(]|$)", folded):
        return 0.0
    found = durations(folded)
    return found[0].minutes if found else None


@dataclass(frozen=True)
class Money:
    amount: float
    currency: str  # "JPY" | "USD"
    text: str
    approximate: bool = False  # 約3.1万円, 概算, 1,000円程度, ~$50
    precision: float = 0.0  # half the place value of the last digit written (約3.1万 → 500)

    @property
    def tolerance(self) -> float:
        """How far the real figure may be from this one: its rounding, when it is a rounded figure."""
        return self.precision if self.approximate else 0.0

    def to_jpy(self, usd_jpy: float) -> float:
        return self.amount * usd_jpy if self.currency == "USD" else self.amount


def money(text: str, default_currency: str | None = None) -> list[Money]:
    """Amounts with their currency: $121, 121ドル, USD 121, ¥100,000, 100,000円, 10万円, 1.5万円.

    A bare number gets `default_currency` (a column header such as 月額（円）), else it is not
    money. Percentages and numbers glued to other units (50GB, 730h) are not money.
    """
    plain = unicodedata.normalize("NFKC", text).replace("*", "")  # 約 kept: a rounded figure
    folded = fold(text)
    result = []
    for m in _MONEY.finditer(folded):
        pre, post, man = m.group("pre"), m.group("post"), m.group("man")
        tail = folded[m.end():m.end() + 1]
        if not pre and not post and not man:
            if default_currency is None or tail in ("%", "G", "T", "M", "h", "件", "台", "個"):
                continue
            if re.search(r"[A-Za-z]", folded[m.end():m.end() + 2]):
                continue
        try:
            amount = float(m.group("num").replace(",", ""))
        except ValueError:
            continue
        if man == "万":
            amount *= 10_000
        elif man == "千":
            amount *= 1_000
        if m.group("sign"):
            amount = -amount
        marker = (pre or "").strip().upper() + (post or "").upper()
        if "$" in marker or "USD" in marker or "ドル" in marker:
            currency = "USD"
        elif "¥" in marker or "JPY" in marker or "円" in marker:
            currency = "JPY"
        elif man:
            if default_currency is None and not post:
                continue
            currency = default_currency or "JPY"
        else:
            currency = default_currency or "JPY"
        result.append(Money(amount, currency, m.group(0).strip(),
                            _approximate(plain, m.group(0).strip(), folded, m.end()),
                            _precision(m.group("num"), man)))
    return result


def _approximate(plain: str, written: str, folded: str, end: int) -> bool:
    """約3.1万円 / 概算 3.1万円 / 1,000円程度 / ~$50: the cell states a rounded figure."""
    index = plain.find(written)
    before = plain[:index] if index >= 0 else ""
    return bool(_APPROX_BEFORE.search(before[-6:]) or "概算" in plain
                or _APPROX_AFTER.match(folded[end:end + 4]))


def _precision(num: str, man: str | None) -> float:
    """Half the place value of the last significant digit: 3.1万 → 500, 31,000 → 500, 1,000 → 50
    (trailing zeros of an integer are read as rounding, but two significant digits are kept)."""
    digits = num.replace(",", "")
    if "." in digits:
        step = 10.0 ** -len(digits.split(".")[1])
    else:
        stripped = digits.rstrip("0")
        zeros = len(digits) - len(stripped) if stripped else 0
        step = 10.0 ** max(0, min(zeros, len(digits) - 2))
    scale = 10_000 if man == "万" else 1_000 if man == "千" else 1
    return step * scale / 2


def currency_of_header(header: str) -> str | None:
    """月額（円） → JPY, Monthly (USD) / 月額($) → USD, 月額費用 → None."""
    h = fold(header)
    if "円" in h or "JPY" in h.upper() or "¥" in h:
        return "JPY"
    if "$" in h or "USD" in h.upper() or "ドル" in h:
        return "USD"
    return None


def number(text: str) -> float | None:
    """The first plain number in the text (2（最小） → 2, gp3 50GB → 3 is avoided by callers)."""
    m = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)", fold(text))
    return float(m.group(1)) if m else None


def gigabytes(text: str) -> float | None:
    """50GB / 50 GiB / 0.5TB → GB."""
    m = re.search(r"(\d+(?:\.\d+)?)\s*(GB|GiB|TB|TiB)", fold(text), re.IGNORECASE)
    if not m:
        return None
    value = float(m.group(1))
    return value * 1024 if m.group(2).upper().startswith("T") else value


def days(text: str) -> float | None:
    """14日 / 2週間 / 3か月 / 1年 / 14 days → days."""
    folded = fold(text)
    m = re.search(r"(\d+(?:\.\d+)?)\s*(日間|日|days?|週間|週|weeks?|か月|ヶ月|カ月|months?|年|years?)",
                  folded, re.IGNORECASE)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2).lower()
    if unit.startswith(("週", "week")):
        return value * 7
    if unit in ("か月", "ヶ月", "カ月") or unit.startswith("month"):
        return value * 30
    if unit.startswith(("年", "year")):
        return value * 365
    return value


def line_of_offset(text: str, offset: int, first_line: int) -> int:
    """File line of a character offset inside a paragraph that starts at `first_line`."""
    return first_line + text.count("\n", 0, max(0, offset))
