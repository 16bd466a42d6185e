from actions.fallback import consecutive_misses, fallback_reply


def _parse() -> dict:
    return {
        "intent": {"name": "nlu_fallback", "confidence": 0.4},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.4},
                           {"name": "faq", "confidence": 0.35},
                           {"name": "my_grid", "confidence": 0.2}],
        "response_selector": {"faq": {"ranking": [
            {"intent_response_key": "faq/wage_arrears", "confidence": 0.6},
            {"intent_response_key": "faq/legal_aid", "confidence": 0.3}]}},
    }


def test_consecutive_misses() -> None:
    assert consecutive_misses([]) == 0
    assert consecutive_misses(["greet", "nlu_fallback"]) == 1
    assert consecutive_misses(["nlu_fallback", "nlu_fallback"]) == 2
    assert consecutive_misses(["nlu_fallback", "faq", "nlu_fallback"]) == 1


def test_first_miss_asks_to_rephrase_with_closest_topics() -> None:
    reply = fallback_reply(_parse(), ["nlu_fallback"])
    assert "换个说法" in reply
    assert "欠薪讨薪" in reply and "我的网格" in reply and "法律援助" in reply


def test_second_miss_offers_people_honestly() -> None:
    reply = fallback_reply(_parse(), ["nlu_fallback", "nlu_fallback"])
    assert "12351" in reply and "网格员" in reply
    assert "换个说法" not in reply


def test_first_miss_without_candidates_gives_examples() -> None:
    reply = fallback_reply({"intent": {"name": "nlu_fallback"}}, ["nlu_fallback"])
    assert "换个说法" in reply
