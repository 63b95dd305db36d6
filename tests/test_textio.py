"""Encoding detection for design documents written on Windows, Linux and Excel exports."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sre_agent.textio import TextDecodeError, decode_text, looks_binary, read_text

DESIGN_PARAGRAPH = (
    "## 4. 可用性設計\n"
    "「目標稼働率 99.9％（月間43分以内）、RDS はマルチAZ構成とする。」\n"
    "| 項目 | 目標値 | 備考 |\n"
    "| バックアップ保持 | ７日 | ＤＢスナップショット①、髙橋承認 |\n"  # ① and 髙 exist only in cp932
)
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"


def test_cp932_round_trips_exactly():
    assert decode_text(DESIGN_PARAGRAPH.encode("cp932")) == (DESIGN_PARAGRAPH, "cp932")


def test_plain_shift_jis_is_read_as_cp932():
    text = "「目標稼働率 99.9％（月間43分以内）、RDS はマルチAZ構成とする。」\n"
    assert decode_text(text.encode("shift_jis")) == (text, "cp932")


def test_euc_jp_is_not_mistaken_for_half_width_katakana_cp932():
    assert "可用性設計".encode("euc_jp").decode("cp932") == "ｲﾄﾍﾑﾀｭﾀﾟｷﾗ"  # both codecs accept it
    assert decode_text("可用性設計 冗長化構成\n".encode("euc_jp")) == ("可用性設計 冗長化構成\n", "euc_jp")
    text = "監視設計: CPU 使用率 80% 以上が 5 分継続したら通知する。ログは 90 日保持。\n"
    assert decode_text(text.encode("euc_jp")) == (text, "euc_jp")


def test_utf8_and_utf8_with_bom():
    assert decode_text(DESIGN_PARAGRAPH.encode("utf-8")) == (DESIGN_PARAGRAPH, "utf-8")
    assert decode_text(codecs.BOM_UTF8 + DESIGN_PARAGRAPH.encode("utf-8")) == (DESIGN_PARAGRAPH, "utf-8-sig")


def test_utf16_with_bom_is_text_not_binary():
    assert decode_text(DESIGN_PARAGRAPH.encode("utf-16")) == (DESIGN_PARAGRAPH, "utf-16")


def test_crlf_and_cr_become_lf():
    windows = DESIGN_PARAGRAPH.replace("\n", "\r\n")
    assert decode_text(windows.encode("cp932"))[0] == DESIGN_PARAGRAPH
    assert decode_text(codecs.BOM_UTF8 + windows.encode("utf-8"))[0] == DESIGN_PARAGRAPH
    assert decode_text(b"a\rb\r\nc\n") == ("a\nb\nc\n", "utf-8")


def test_empty_file():
    assert decode_text(b"") == ("", "utf-8")


def test_png_is_binary():
    assert looks_binary(PNG_HEADER)
    with pytest.raises(TextDecodeError, match="binary"):
        decode_text(PNG_HEADER)


def test_looks_binary():
    assert not looks_binary(DESIGN_PARAGRAPH.encode("cp932"))
    assert not looks_binary(b"\x1b[31mERROR\x1b[0m\tdeploy failed\r\n")
    assert looks_binary(bytes(range(1, 32)) * 10)
    assert looks_binary(b"x" * 8000 + b"\x00")
    assert not looks_binary(b"x" * 8192 + b"\x00")  # only the first 8 KiB is sniffed


def test_read_text(tmp_path):
    path = tmp_path / "基本設計書.md"
    path.write_bytes(DESIGN_PARAGRAPH.replace("\n", "\r\n").encode("cp932"))
    assert read_text(path) == (DESIGN_PARAGRAPH, "cp932")
    image = tmp_path / "構成図.png"
    image.write_bytes(PNG_HEADER)
    with pytest.raises(TextDecodeError, match="構成図.png"):
        read_text(image)


@given(st.binary(max_size=512))
def test_random_bytes_give_text_or_text_decode_error(data):
    try:
        text, encoding = decode_text(data)
    except TextDecodeError:
        return
    assert isinstance(text, str) and isinstance(encoding, str)
    assert "\r" not in text
