"""The Chinese content of the newsroom (`producer demo --language zh`): keywords, sentences, titles.

No filler sentence contains a keyword or alias: CJK keywords match inside running text,
so a keyword hidden in a filler word would be counted where the site does not plan it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

KEYWORDS: tuple[dict[str, Any], ...] = (
    {"keyword": "台风", "aliases": ["颱風"]},
    {"keyword": "芯片", "aliases": ["半导体"]},
    {"keyword": "人工智能", "aliases": ["AI"]},
    {"keyword": "新能源汽车", "aliases": ["电动车"]},
    {"keyword": "拉面", "aliases": ["拉麵"]},
    {"keyword": "地铁", "aliases": []},
)
#: Documents mentioning each surging keyword on the last day (the normal level is 0-3).
SURGE = {"台风": 14, "芯片": 11}

FILLER = (
    "编辑部回顾了本季度的工作计划，并确定了下一步的目标。",
    "不少读者希望看到关于迁移方案的详细报道。",
    "发布结束后，团队进行了简短的总结，记录了做得好的地方。",
    "本周访问量稳步增长，响应时间保持平稳。",
    "值班安排经过调整，工作量分配更加均衡。",
    "文档已经更新，与新的部署流程保持一致。",
    "晚上举行的社区聚会吸引了大约四十人参加。",
    "测试在新的机器上重复进行，以确认结果。",
)
MENTIONS = (
    "本周的笔记详细介绍了{word}的最新进展。",
    "一场讲座比较了围绕{word}的几种做法。",
    "多位专家分享了关于{word}的经验和教训。",
    "关于{word}的新报告今天发布，引起广泛关注。",
)


def title(words: list[str], day: dt.date, index: int) -> str:
    """An article title such as ``台风与芯片动态，3月14日 第1篇``."""
    topic = "与".join(words[:2]) if words else "团队"
    return f"{topic}动态，{day.month}月{day.day}日 第{index + 1}篇"
