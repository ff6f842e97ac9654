"""Secrets named by the config: text secrets are trimmed, pseudonym keys are taken byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from careedge_common.config import KEY_FILE_MIN, SecretError, SecretRef, read_key_file, read_secret


def test_key_file_keeps_white_space_at_both_ends(tmp_path: Path) -> None:
    key = b"\x0b" + bytes(range(32, 62)) + b"\n"
    path = tmp_path / "site.key"
    path.write_bytes(key)
    assert read_key_file(path) == key


def test_key_file_shorter_than_the_minimum_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.key"
    path.write_bytes(b"k" * (KEY_FILE_MIN - 1))
    with pytest.raises(SecretError, match=f"must hold {KEY_FILE_MIN} to"):
        read_key_file(path)


def test_missing_key_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match=r"cannot read secret file .*absent\.key"):
        read_key_file(tmp_path / "absent.key")


def test_text_secret_from_a_file_is_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("  abc-123\n")
    assert read_secret(SecretRef(file=path)) == "abc-123"


def test_blank_text_secret_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(" \n")
    with pytest.raises(SecretError, match="is empty"):
        read_secret(SecretRef(file=path))
