"""The AddressGazetteer Rasa component fills an `address` entity from the directory."""

from __future__ import annotations

import json
from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import AddressGazetteer
from grids.lookup import Resolution


def _component(url: str, tmp_path: Path) -> AddressGazetteer:
    config = {**AddressGazetteer.get_default_config(), "database_url": url}
    return AddressGazetteer.create(config, LocalModelStorage(tmp_path), Resource("gazetteer"),
                                   ExecutionContext(GraphSchema({}), "test"))


def test_address_entity(seeded_url: str, tmp_path: Path) -> None:
    component = _component(seeded_url, tmp_path)
    messages = [Message(data={"text": text}) for text in (
        "我住联盟小区5号楼，最近的工会在哪", "最近的工会服务站在哪？", "幸福家园3栋的网格员是谁", "/find_office")]
    component.process(messages)
    first = messages[0].get("entities")
    resolution = first[0].pop("resolution")
    assert first == [{"entity": "address", "start": 2, "end": 9, "value": "联盟小区5号楼",
                      "confidence_entity": 0.99, "extractor": "AddressGazetteer"}]
    # The resolution rides along (JSON-safe) so the grid action need not resolve again.
    again = Resolution.from_dict(json.loads(json.dumps(resolution)))
    assert again.candidates[0].estate_name == "联盟小区" and again.span == (2, 9)
    assert not messages[1].get("entities")
    assert messages[2].get("entities")[0]["value"] == "幸福家园3栋"
    assert not messages[3].get("entities")


def test_no_directory_no_entity(tmp_path: Path) -> None:
    component = _component(f"sqlite:///{tmp_path / 'none.db'}", tmp_path)
    message = Message(data={"text": "我住联盟小区5号楼"})
    component.process([message])
    assert not message.get("entities")
