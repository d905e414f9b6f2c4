"""Tests of flowctl-chat (run with `python -m pytest` in examples/flowctl-chat)."""
