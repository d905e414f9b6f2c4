"""What every channel plugin (console, smtp, webhook) promises pluggy and the workflow
schema: one channel type each, with a documented JSON schema that accepts SPEC's examples
and refuses typos. Each channel's own behaviour is in tests/test_<channel>.py."""
from __future__ import annotations

import jsonschema
import pluggy
import pytest

from flowctl import hookspecs
from flowctl.hooktypes import ChannelType
from flowctl.plugins import console, smtp, webhook


def channel(module: object) -> ChannelType:
    [channel_type] = module.flowctl_channel_types()  # type: ignore[attr-defined]
    return channel_type


# --------------------------------------------------------------------------- contract

@pytest.mark.parametrize("module,name", [(console, "console"), (smtp, "smtp"), (webhook, "webhook")])
def test_plugin_provides_one_channel_type_with_a_documented_schema(module: object, name: str) -> None:
    channel_type = channel(module)
    assert channel_type.name == name
    schema = channel_type.config_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema") and schema["title"] and schema["description"]
    for key, prop in schema["properties"].items():
        assert prop.get("title") and prop.get("description"), key


def test_schemas_accept_the_spec_examples_and_reject_typos() -> None:
    ok = [(smtp, {"use": "smtp", "host": "smtp.example.com", "port": 587, "starttls": True,
                  "from": "sales-ops@example.com", "user_env": "SMTP_USER", "password_env": "SMTP_PASSWORD"}),
          (webhook, {"use": "webhook", "url": "https://chat.example.com/hooks/sales", "secret_env": "CHAT_SECRET"}),
          (console, {"use": "console"})]
    for module, config in ok:
        jsonschema.validate(config, channel(module).config_schema)
    bad = [(smtp, {"use": "smtp", "from": "a@b.c", "passwrd_env": "X"}),
           (smtp, {"use": "smtp", "from": "a@b.c", "ssl": True, "starttls": True}),
           (webhook, {"use": "webhook", "url": "ftp://example.com/x"}),
           (webhook, {"use": "webhook", "url": "https://x.example", "secret": "inline"})]
    for module, config in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(config, channel(module).config_schema)


def test_pluggy_validates_and_joins_the_three_plugins() -> None:
    pm = pluggy.PluginManager("flowctl")
    pm.add_hookspecs(hookspecs)
    for module in (console, smtp, webhook):
        pm.register(module)  # raises if an implementation does not match the hookspec
    names = {ct.name for types in pm.hook.flowctl_channel_types() for ct in types}
    assert names == {"console", "smtp", "webhook"}
