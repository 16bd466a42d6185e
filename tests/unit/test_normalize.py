import pytest

from core.normalize import Normalizer, load_corrections, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@云博士 农民工能不能入工会啊", "农民工能不能入工会啊"),
        ("＠云博士 介绍一下你自己", "介绍一下你自己"),
        ("@云博士\u2005我昨天的求助现在啥状态", "我昨天的求助现在啥状态"),
        ("@云博士工会 投诉材料交到哪", "投诉材料交到哪"),
        ("@云博士 工会 参加互助需要什么条件", "参加互助需要什么条件"),
        ("@云博士 工会能不能帮忙", "工会能不能帮忙"),
        ("羽毛球比赛组队要几个人 @云博士", "羽毛球比赛组队要几个人"),
        ("申請入會要什麼條件", "申请入会要什么条件"),
        ("老闆一直不發薪水怎麼辦", "老板一直不发薪水怎么办"),
        ("你是真的博士吗😂", "你是真的博士吗"),
        ("👍👍👍", ""),
        ("[捂脸]工会在哪！！！", "工会在哪!"),
        ("厂里没人管，工会收不收举报？？", "厂里没人管,工会收不收举报?"),
        ("真的吗？！？！", "真的吗?"),
        ("ＡＢＣ１２３", "ABC123"),
        ("@李姐 你家快递到了", "你家快递到了"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_custom_bot_names_and_corrections() -> None:
    n = Normalizer(("小助手", "云博士"), {"公会": "工会"})
    assert n("@小助手 公会在哪") == "工会在哪"
    assert n.mentions_bot("＠小助手 你好")
    assert not n.mentions_bot("小助手你好")
    assert not n.mentions_bot("@张三 你好")


def test_is_idempotent() -> None:
    for raw in ["@云博士 申請入會！！😂", "會員卡  丟了？？", "@云博士\u2005转人工"]:
        once = normalize(raw)
        assert normalize(once) == once


def test_load_corrections_reports_bad_line() -> None:
    assert load_corrections(["# comment", "公会 工会", "", "料休养\t疗休养  # x"]) == {
        "公会": "工会",
        "料休养": "疗休养",
    }
    with pytest.raises(ValueError, match="line 2"):
        load_corrections(["公会 工会", "only-one-word"])


def test_long_message_is_fast_enough_to_not_matter() -> None:
    text = "我想问问工會的事情😂" * 1000
    assert len(normalize(text)) < len(text)


def test_one_bound_on_length_before_anything_expensive() -> None:
    from core.normalize import MAX_MESSAGE_CHARS, clip

    assert len(normalize("工" * 100_000)) == MAX_MESSAGE_CHARS
    assert clip("短消息") == "短消息"


def test_half_an_emoji_is_dropped_not_fatal() -> None:
    text = normalize("会费交多少\ud83d")  # a client cut "😀" in half
    assert text == "会费交多少"
    text.encode("utf-8")  # would raise UnicodeEncodeError with the lone surrogate
    assert normalize("\udc00@云博士 入会") == "入会"
