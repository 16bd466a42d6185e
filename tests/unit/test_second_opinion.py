"""The second opinion without training: its two classifiers are averaged, and a message
asking two things is split into its two topics (bot.nlu.SecondOpinion; the small-config
training test trains and stores it for real)."""

from __future__ import annotations

from typing import Any

from bot.nlu import SecondOpinion, _Pair


class _Fixed:
    """A fitted classifier stand-in with fixed probabilities per text."""

    def __init__(self, classes: list[str], table: dict[str, list[float]]) -> None:
        import numpy as np

        self.classes_ = np.array(classes)
        self._table = {k: np.array(v) for k, v in table.items()}

    def predict_proba(self, texts: list[str]) -> Any:
        import numpy as np

        return np.array([self._table[t] for t in texts])


CLASSES = ["join_union", "union_dues", "greet"]


def opinion(table_chars: dict[str, list[float]], table_words: dict[str, list[float]]
            ) -> SecondOpinion:
    model = _Pair(_Fixed(CLASSES, table_chars), _Fixed(CLASSES, table_words))
    return SecondOpinion({"min_probability": 0.55, "max_questions": 2, "opinions": 2},
                         None, None, model)  # type: ignore[arg-type]


def test_the_two_classifiers_are_averaged() -> None:
    second = opinion({"会费": [0.1, 0.8, 0.1]}, {"会费": [0.3, 0.6, 0.1]})
    assert second.opinion("会费") == {"union_dues": 0.7, "join_union": 0.2}


def test_two_clauses_on_two_topics_are_two_questions() -> None:
    table = {"会费交多少": [0.1, 0.8, 0.1], "怎么入会": [0.9, 0.05, 0.05]}
    second = opinion(table, table)
    assert second.topics("会费交多少?怎么入会?") == ["union_dues", "join_union"]


def test_unsure_or_small_talk_clauses_are_not_questions() -> None:
    table = {"会费交多少": [0.1, 0.8, 0.1], "你好呀": [0.1, 0.1, 0.8],
             "入会的事": [0.5, 0.4, 0.1]}
    second = opinion(table, table)
    assert second.topics("会费交多少?你好呀") == []       # greet is not a question to answer
    assert second.topics("会费交多少?入会的事") == []     # 0.5 < 0.55: not sure enough
    assert second.topics("会费交多少") == []              # one clause: one question


def test_the_fast_probabilities_are_sklearn_s() -> None:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from bot.nlu import _probabilities

    texts = ["会费交多少", "会费怎么交", "怎么入会", "入会要啥材料", "你好", "在吗"]
    labels = ["union_dues", "union_dues", "join_union", "join_union", "greet", "greet"]
    pipeline = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 2)),
                             LogisticRegression(C=10.0)).fit(texts, labels)
    asked = ["会费多少钱", "入会", "哈喽", "完全无关的话"]
    assert np.allclose(_probabilities(pipeline, asked), pipeline.predict_proba(asked))
    assert np.allclose(_probabilities(pipeline, asked), pipeline.predict_proba(asked))  # cached
