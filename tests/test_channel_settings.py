"""Tests for flowctl.channel_settings: the settings every channel takes (`rate`,
`max_attempts`) added to a channel plugin's config schema, and what they accept."""
from __future__ import annotations

import pytest

from flowctl.channel_settings import CORE_SETTINGS, DEFAULT_MAX_ATTEMPTS, with_core_settings
from flowctl.schema import SchemaValidator

PLUGIN = {"type": "object", "required": ["url"], "additionalProperties": False, "properties": {"url": {"type": "string"}}}


def test_a_plugins_schema_also_accepts_the_core_settings():
    schema = with_core_settings(PLUGIN)
    assert set(schema["properties"]) == {"url", "rate", "max_attempts"}
    assert schema["required"] == ["url"] and schema["additionalProperties"] is False
    assert PLUGIN["properties"] == {"url": {"type": "string"}}  # the plugin's own schema is not changed


def test_a_plugin_may_describe_a_core_setting_its_own_way():
    mine = {"type": "object", "properties": {"rate": {"type": "string", "description": "mine"}}}
    assert with_core_settings(mine)["properties"]["rate"] == {"type": "string", "description": "mine"}


@pytest.mark.parametrize("schema", [{}, {"type": "object"}, {"properties": []}, None, "x", []])
def test_a_schema_without_properties_is_left_as_it_is(schema):
    assert with_core_settings(schema) is schema


VALIDATOR = SchemaValidator(with_core_settings(PLUGIN))


@pytest.mark.parametrize("rate", ["5/s", "30/min", "1.5/sec", " 2 / second ", "10/minute"])
def test_rates_accepted(rate):
    assert VALIDATOR.is_valid({"url": "u", "rate": rate})


@pytest.mark.parametrize("rate", ["5", "5/h", "/s", "fast", "5/s extra", "-1/s", 5])
def test_rates_refused(rate):
    assert not VALIDATOR.is_valid({"url": "u", "rate": rate})


@pytest.mark.parametrize("attempts, ok", [(1, True), (DEFAULT_MAX_ATTEMPTS, True), (100, True), (0, False), (-1, False),
                                          ("3", False), (True, False)])
def test_max_attempts(attempts, ok):
    assert VALIDATOR.is_valid({"url": "u", "max_attempts": attempts}) is ok


def test_the_default_is_documented_in_the_schema():
    assert CORE_SETTINGS["max_attempts"]["default"] == DEFAULT_MAX_ATTEMPTS
    assert f"default {DEFAULT_MAX_ATTEMPTS}" in CORE_SETTINGS["max_attempts"]["description"]
