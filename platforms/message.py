"""The platform-neutral shapes the protocol layer produces. No web framework here.

A protocol turns one raw webhook request into exactly one `Event`:
- `IncomingMessage`: a chat message for the shared base to consider;
- `Immediate`: answer the HTTP request right away (URL check, challenge);
- `Ignored`: acknowledge and do nothing (heartbeat, other event types).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from core.normalize import clip
from platforms.errors import MalformedPayload

MAX_NAME_CHARS = 64   # a display name; platforms allow far fewer
MAX_ID_CHARS = 256    # user, group and message ids; platforms' are much shorter


class MessageKind(str, Enum):
    TEXT = "text"
    IMAGE = "image"
    VOICE = "voice"
    FILE = "file"
    STICKER = "sticker"
    VIDEO = "video"
    OTHER = "other"


@dataclass(frozen=True)
class RawRequest:
    """What arrived over HTTP: header names lower-case, query values single strings."""

    method: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    client: str = ""  # the client's address (the peer, or the trusted proxy's hop)

    def json(self) -> Any:
        return parse_json(self.body)


@dataclass(frozen=True)
class IncomingMessage:
    platform: str
    message_id: str
    user_id: str
    user_name: str = ""
    text: str = ""
    group_id: str | None = None      # None for a 1:1 chat
    kind: MessageKind = MessageKind.TEXT
    mentioned: bool = False          # the platform itself says the bot was @-mentioned
    mentions_all: bool = False       # @all / @所有人
    dedupe_key: str = ""             # the id platform retries share (defaults to message_id)
    reply_to: Mapping[str, Any] = field(default_factory=dict)  # platform reply handles
    quoted_id: str = ""              # the message this one quotes (replies to), where carried

    @property
    def is_group(self) -> bool:
        return self.group_id is not None

    @property
    def sender_id(self) -> str:
        return f"{self.platform}:{self.group_id or 'direct'}:{self.user_id}"

    @property
    def retry_key(self) -> str:
        return f"{self.platform}:{self.dedupe_key or self.message_id}"

    def bounded(self) -> IncomingMessage:
        """The message as the rest of the bot may see it, applied once right after
        parsing: the text clipped to MAX_MESSAGE_CHARS, names and ids bounded, and
        lone surrogates (half an emoji, which nothing downstream can encode) dropped."""
        return replace(
            self,
            text=clip(self.text),
            user_name=clip(self.user_name, MAX_NAME_CHARS),
            user_id=clip(self.user_id, MAX_ID_CHARS),
            message_id=clip(self.message_id, MAX_ID_CHARS),
            group_id=None if self.group_id is None else clip(self.group_id, MAX_ID_CHARS),
            dedupe_key=clip(self.dedupe_key, MAX_ID_CHARS),
            quoted_id=clip(self.quoted_id, MAX_ID_CHARS),
        )

    def metadata(self) -> dict[str, Any]:
        """What custom actions find in tracker.latest_message["metadata"]."""
        return {
            "platform": self.platform,
            "group_id": self.group_id,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "message_id": self.message_id,
        }


@dataclass(frozen=True)
class Immediate:
    body: str | dict[str, Any]
    status: int = 200


@dataclass(frozen=True)
class Ignored:
    reason: str


Event = IncomingMessage | Immediate | Ignored


def parse_json(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # "[[[[…": the C decoder gives up past ~1000 levels
        raise MalformedPayload("body is nested too deeply") from exc


def json_object(data: bytes | str) -> dict[str, Any]:
    value = parse_json(data)
    if not isinstance(value, dict):
        raise MalformedPayload("body must be a JSON object")
    return value


def require_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise MalformedPayload(f"missing field {key!r}")
    return str(value)
