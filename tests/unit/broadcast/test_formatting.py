from __future__ import annotations

import pytest

from broadcast.formatting import nbytes, plain, render, split_body, split_numbered


def test_short_notice_is_one_message_with_its_title():
    [message] = render("wecom", "停水通知", "明天上午停水。")
    assert message.text == "【停水通知】\n明天上午停水。" and not message.markdown


def test_markdown_only_where_the_platform_shows_it():
    body = "## 安排\n**周六** 上午 [报名](https://example.invalid/a)"
    assert render("wecom", "活动", body, "markdown")[0].markdown
    qq = render("onebot", "活动", body, "markdown")[0]
    assert not qq.markdown and "**" not in qq.text and "报名（https://example.invalid/a）" in qq.text
    assert plain("> 引用\n`代码`") == "引用\n代码"


@pytest.mark.parametrize("limit", [200, 301, 2048])
def test_parts_fit_the_limit_are_numbered_and_lose_nothing(limit):
    paragraphs = [f"第{i}段" + "工会会员权益保障。" * (i * 7) for i in range(1, 9)]
    body = "\n\n".join(paragraphs)
    parts = split_numbered("通知", body, limit)
    assert len(parts) > 1
    assert all(nbytes(p) <= limit for p in parts)
    assert [p.split("\n", 1)[0] for p in parts] == [
        f"【通知】（{i}/{len(parts)}）" for i in range(1, len(parts) + 1)]
    rebuilt = "".join(p.split("\n", 1)[1] for p in parts)
    assert rebuilt.replace("\n", "") == body.replace("\n", "")


def test_paragraph_boundaries_are_preferred():
    body = "甲" * 30 + "\n\n" + "乙" * 30 + "\n\n" + "丙" * 30
    assert split_body(body, 200) == ["甲" * 30 + "\n\n" + "乙" * 30, "丙" * 30]


def test_never_cuts_inside_a_character():
    body = "😀汉字" * 500            # 4- and 3-byte characters, no sentence ends
    chunks = split_body(body, 101)
    assert all(nbytes(c) <= 101 for c in chunks) and "".join(chunks) == body
    for chunk in chunks:
        chunk.encode("utf-8").decode("utf-8")


def test_a_title_too_long_for_any_message_is_refused():
    with pytest.raises(ValueError, match="标题太长"):
        split_numbered("长" * 100, "正文", 300)
