"""Configuration from the environment: a value that cannot be read names its variable (STYLE.md §6)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from kefu.core.env import env_float, env_int


def test_unset_or_empty_gives_the_default(monkeypatch):
    monkeypatch.delenv("KEFU_TEST_N", raising=False)
    assert env_int("KEFU_TEST_N", 7) == 7
    monkeypatch.setenv("KEFU_TEST_N", " ")
    assert env_int("KEFU_TEST_N", 7) == 7
    assert env_float("KEFU_TEST_N", 2.5) == 2.5
    monkeypatch.setenv("KEFU_TEST_N", " 12 ")
    assert env_int("KEFU_TEST_N", 7) == 12
    monkeypatch.setenv("KEFU_TEST_N", "0.5")
    assert env_float("KEFU_TEST_N", 2.5) == 0.5


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (env_int, "五千", "KEFU_TEST_N must be a whole number, not '五千'"),
        (env_int, "5000.0", "KEFU_TEST_N must be a whole number, not '5000.0'"),
        (env_int, "-1", "KEFU_TEST_N must be at least 0, not -1"),
        (env_float, "ten", "KEFU_TEST_N must be a number, not 'ten'"),
        (env_float, "nan", "KEFU_TEST_N must be a finite number, not 'nan'"),
        (env_float, "-0.1", "KEFU_TEST_N must be at least 0, not -0.1"),
    ],
)
def test_a_value_that_cannot_be_read_names_the_variable(monkeypatch, reader, raw, message):
    monkeypatch.setenv("KEFU_TEST_N", raw)
    with pytest.raises(ImproperlyConfigured) as err:
        reader("KEFU_TEST_N", 1, minimum=0)
    assert str(err.value) == message


def test_a_bad_knowledge_setting_stops_the_start_with_its_name_K4():
    """K4: KEFU_KB_SNAPSHOT_MIN / KEFU_KB_LOAD_WAIT are read when the knowledge search module loads."""
    for name in ("KEFU_KB_SNAPSHOT_MIN", "KEFU_KB_LOAD_WAIT"):
        run = subprocess.run(
            [sys.executable, "-m", "kefu.cli", "check"],
            env={**os.environ, name: "abc", "DJANGO_SETTINGS_MODULE": "kefu.settings"},
            capture_output=True, text=True, timeout=120,
        )
        assert run.returncode != 0
        assert f"{name} must be a" in run.stderr
        assert "abc" in run.stderr
