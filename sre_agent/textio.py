"""Reading text files whose encoding we are not told.

Japanese design documents arrive as UTF-8, as UTF-8 with a BOM (Excel/Notepad exports), as
cp932 (Shift_JIS written on Windows) and occasionally as EUC-JP. Guessing wrong silently turns
「可用性」 into mojibake and every keyword check downstream misses, so decoding is strict: a
codec either decodes the whole file or it is not the answer.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import charset_normalizer

SNIFF_BYTES = 8192
CONTROL_RATIO = 0.30
# Control bytes that ordinary text does contain: \b \t \n \f \r and ESC (ISO-2022-JP, ANSI colours).
_TEXT_CONTROLS = frozenset(b"\b\t\n\f\r\x1b")
_NOT_CONTROL = bytes(b for b in range(256) if not ((b < 0x20 and b not in _TEXT_CONTROLS) or b == 0x7F))
_ODD_CHARS = re.compile(r"[\uff61-\uff9f\ue000-\uf8ff\x80-\x9f]")


class TextDecodeError(Exception):
    """The bytes are binary, or no encoding we trust decodes them cleanly."""


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the first 8 KiB, or more than 30 % control bytes there."""
    sample = data[:SNIFF_BYTES]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample.translate(None, _NOT_CONTROL))   # counted in C, not byte by byte
    return controls / len(sample) > CONTROL_RATIO


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _oddness(text: str) -> int:
    """How many characters a wrong Japanese codec tends to produce.

    EUC-JP bytes usually also decode as cp932, but into half-width katakana (ｱ-ﾝ); cp932 bytes
    decoded as EUC-JP tend to hit private-use or C1 code points. Fewer of these wins.
    """
    return len(_ODD_CHARS.findall(text))


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes) -> tuple[str, str]:
    """Return (text, encoding) with newlines normalised to LF; raise TextDecodeError otherwise."""
    if data.startswith(codecs.BOM_UTF8):
        text = _strict(data, "utf-8-sig")
        if text is None:
            raise TextDecodeError("starts with a UTF-8 BOM but is not valid UTF-8")
        return _normalise_newlines(text), "utf-8-sig"
    # UTF-16 (Notepad's "Unicode") is full of NUL bytes, so it must be recognised before the binary sniff.
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16")
        if text is None:
            raise TextDecodeError("starts with a UTF-16 BOM but is not valid UTF-16")
        return _normalise_newlines(text), "utf-16"
    if looks_binary(data):
        raise TextDecodeError("binary data (NUL or control bytes in the first 8 KiB)")

    text = _strict(data, "utf-8")
    if text is not None:
        return _normalise_newlines(text), "utf-8"

    candidates = [(t, enc) for enc in ("cp932", "euc_jp") if (t := _strict(data, enc)) is not None]
    if candidates:
        text, encoding = min(candidates, key=lambda c: _oddness(c[0]))  # min() keeps cp932 on ties
        return _normalise_newlines(text), encoding

    try:
        best = charset_normalizer.from_bytes(data).best()
    except Exception as exc:  # the detector is a heuristic; its failure is just "undecodable"
        raise TextDecodeError(f"undecodable: encoding detection failed ({exc})") from exc
    if best is None:
        raise TextDecodeError("undecodable: not UTF-8, cp932 or EUC-JP, and no other encoding fits")
    return _normalise_newlines(str(best)), best.encoding


def read_text(path: Path) -> tuple[str, str]:
    """Read and decode a file; TextDecodeError names the file, OSError passes through."""
    data = Path(path).read_bytes()
    try:
        return decode_text(data)
    except TextDecodeError as exc:
        raise TextDecodeError(f"{path}: {exc}") from exc
