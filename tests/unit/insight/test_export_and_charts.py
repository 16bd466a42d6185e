"""CSV for Excel (BOM, Chinese headers, formulas as text) and SVG charts (well-formed
XML whatever the labels, the numbers in them)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from insight import charts
from insight.export import csv_bytes, filename
from insight.model import table

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & \x01 \'引号\''


def report():
    return table("conversation_by_street", "提问与回答（按街道）",
                 (("key", "编码"), ("label", "名称"), ("questions", "提问数"),
                  ("answer_rate", "回答率")),
                 [("D001-S01", "联盟街道", 3, 0.3333), (None, "=HYPERLINK(\"x\")", 1, None),
                  ("S9", "-1+2", -2, 0.5)])


def test_csv_opens_in_excel_as_chinese() -> None:
    data = csv_bytes(report())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["编码", "名称", "提问数", "回答率"]
    assert rows[1] == ["D001-S01", "联盟街道", "3", "0.3333"]
    assert rows[2] == ["", "'=HYPERLINK(\"x\")", "1", ""]    # a formula stays text
    assert rows[3] == ["S9", "'-1+2", "-2", "0.5"]            # numbers stay numbers
    assert b"\r\n" in data
    assert filename(report()) == "conversation_by_street.csv"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def test_bar_chart_is_xml_with_escaped_labels_and_proportional_bars() -> None:
    svg = charts.bar_chart("话题 " + HOSTILE, [("入会", 40), (HOSTILE, 10)])
    assert "<script>" not in svg
    root = parse(svg)
    bars = [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")][1:]
    assert bars[0] == pytest.approx(4 * bars[1])
    assert "入会" in texts(root) and "40" in texts(root)
    assert any("alert" in t for t in texts(root))


def test_line_chart_has_a_point_per_day() -> None:
    points = [(f"03-{d:02d}", float(d % 5)) for d in range(1, 32)]
    root = parse(charts.line_chart("每日提问", points))
    assert len(list(root.iter(f"{SVG}circle"))) == 31
    polyline = next(root.iter(f"{SVG}polyline"))
    assert len(polyline.get("points", "").split()) == 31


def test_stacked_bars_stack_to_the_totals() -> None:
    root = parse(charts.stacked_bars("亮灯", ["联盟街道", HOSTILE],
                                     [("绿灯", [2, 0]), ("黄灯", [1, 1]), ("红灯", [1, 3])]))
    heights = [float(r.get("height", 0)) for r in root.iter(f"{SVG}rect")
               if r.find(f"{SVG}title") is not None]
    assert sum(heights[:3]) == pytest.approx(sum(heights[3:]))
    assert "绿灯" in texts(root)


def test_empty_charts_say_so() -> None:
    for svg in (charts.bar_chart("空", []), charts.line_chart("空", []),
                charts.stacked_bars("空", [], [])):
        assert "暂无数据" in texts(parse(svg))


def test_report_tables_draw() -> None:
    topics = table("top_topics", "问得最多的话题", (("label", "名称"), ("questions", "提问数")),
                   [("入会", 5), ("会费", 2)])
    assert "入会" in texts(parse(charts.topics_chart(topics)))
    days = table("d", "每日提问", (("day", "日期"), ("questions", "提问数")),
                 [("2026-03-01", 1), ("2026-03-02", 3)])
    assert "03-02" in texts(parse(charts.per_day_chart(days)))
    lights = table("l", "亮灯", (("label", "名称"), ("green", "绿"), ("yellow", "黄"), ("red", "红")),
                   [("联盟街道", 1, 2, 3)])
    parse(charts.lights_chart(lights))
    deliveries = table("x", "送达", (("label", "名称"), ("delivered", "a"), ("failed", "b"),
                                   ("pending", "c"), ("cancelled", "d")), [("QQ", 3, 1, 0, 0)])
    parse(charts.deliveries_chart(deliveries))
