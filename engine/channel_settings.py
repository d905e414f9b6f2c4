"""The settings every channel takes, whatever its plugin (`rate`, `max_attempts`): the
core honours them (delivery.py) and strips them from the config the plugin sees. Kept
apart, without imports, so registering plugins stays light."""
from __future__ import annotations

DEFAULT_MAX_ATTEMPTS = 10
# Settings every channel takes, whatever its plugin: the core honours them and strips them
# from the config the plugin sees.
CORE_SETTINGS: dict = {
    "rate": {"title": "Rate limit", "description": "At most this many messages per second or minute, e.g. "
                                                   "`5/s` or `30/min` (chat webhooks limit their callers).",
             "type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*/\s*(s|sec|second|min|minute)\s*$"},
    "max_attempts": {"title": "Attempts before a message is dead",
                     "description": "After this many failed deliveries a message is marked dead and no longer "
                                    "tried, until `flowctl run --retry-dead` (default 10).",
                     "type": "integer", "minimum": 1, "default": DEFAULT_MAX_ATTEMPTS},
}


def with_core_settings(schema: dict) -> dict:
    """A channel plugin's config schema, also accepting the core's settings."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return schema
    return {**schema, "properties": {**CORE_SETTINGS, **schema["properties"]}}
