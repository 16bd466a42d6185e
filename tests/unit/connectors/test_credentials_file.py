"""The shipped credentials.yml enables no channel that lacks authentication."""

from __future__ import annotations

from pathlib import Path

import yaml

CREDENTIALS = Path(__file__).parents[3] / "credentials.yml"
UNAUTHENTICATED = {"rest", "socketio", "callback"}  # Rasa's built-ins: anyone may post


def test_no_unauthenticated_channel_is_enabled() -> None:
    channels = yaml.safe_load(CREDENTIALS.read_text(encoding="utf-8")) or {}
    assert not UNAUTHENTICATED & set(channels), f"enabled: {UNAUTHENTICATED & set(channels)}"
    # Only our connectors (each verifies its callers) may be switched on.
    assert all(name.startswith("connectors.") for name in channels), list(channels)

