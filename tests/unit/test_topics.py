from pathlib import Path

import pytest

from core.topics import contract, intent_for, suggestions, topic_from_intent, topic_of

SHARED = Path(__file__).resolve().parents[3] / "shared" / "spec" / "topics.yml"


def test_contract_has_the_29_keys() -> None:
    topics = contract()
    assert len(topics) == 29
    assert topics["join_union"].kind == "faq"
    assert topics["out_of_scope"].kind == "reject"
    assert topics["legal_referral"].kind == "referral"


@pytest.mark.skipif(not SHARED.exists(), reason="shared spec not next to this checkout")
def test_contract_copy_matches_shared_spec() -> None:
    ours = Path(__file__).resolve().parents[2] / "core" / "topics.yml"
    assert ours.read_text(encoding="utf-8") == SHARED.read_text(encoding="utf-8")


def test_intent_for_and_back() -> None:
    for key in contract():
        assert topic_from_intent(intent_for(key)) == key
    assert intent_for("join_union") == "faq/join_union"
    assert intent_for("find_office") == "find_office"
    assert topic_from_intent("faq/nonsense") == "out_of_scope"
    assert topic_from_intent(None) == "out_of_scope"


def _faq_parse(sub: str, intent_conf: float = 0.9, sel_conf: float = 0.8) -> dict:
    return {
        "intent": {"name": "faq", "confidence": intent_conf},
        "intent_ranking": [{"name": "faq", "confidence": intent_conf},
                           {"name": "greet", "confidence": 0.05}],
        "response_selector": {"faq": {"response": {"intent_response_key": f"faq/{sub}",
                                                   "confidence": sel_conf},
                                      "ranking": [{"intent_response_key": f"faq/{sub}", "confidence": sel_conf},
                                                  {"intent_response_key": "faq/union_dues", "confidence": 0.1}]}},
    }


def test_topic_of_retrieval_intent() -> None:
    result = topic_of(_faq_parse("join_union"))
    assert result.topic == "join_union"
    assert result.confidence == pytest.approx(0.72)
    assert not result.fallback


def test_topic_of_plain_intent() -> None:
    result = topic_of({"intent": {"name": "find_office", "confidence": 0.97}})
    assert (result.topic, result.fallback) == ("find_office", False)


def test_fallback_reports_the_key_it_fell_back_from() -> None:
    parse = {
        "intent": {"name": "nlu_fallback", "confidence": 0.45},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45},
                           {"name": "my_grid", "confidence": 0.4},
                           {"name": "find_office", "confidence": 0.38}],
    }
    result = topic_of(parse)
    assert (result.topic, result.fallback) == ("my_grid", True)
    faq = _faq_parse("wage_arrears", 0.4)
    faq["intent"] = {"name": "nlu_fallback", "confidence": 0.45}
    faq["intent_ranking"].insert(0, {"name": "nlu_fallback", "confidence": 0.45})
    assert topic_of(faq).topic == "wage_arrears"


def test_fallback_without_ranking_is_out_of_scope() -> None:
    result = topic_of({"intent": {"name": "nlu_fallback", "confidence": 0.3}})
    assert (result.topic, result.fallback) == ("out_of_scope", True)


def test_suggestions_skip_chitchat_and_rank_faq_subtopics() -> None:
    parse = _faq_parse("join_union", 0.6, 0.7)
    parse["intent_ranking"].append({"name": "find_office", "confidence": 0.3})
    assert suggestions(parse) == ["join_union", "find_office", "union_dues"]
