"""`python -m bot report`: what content editors should look at next."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, select

from bot.db import get_engine, new_session
from bot.storage.insights import AnswerLogRow, FeedbackRow, UnansweredRow


@dataclass(frozen=True)
class Report:
    most_asked: list[tuple[str, int]]
    unhelpful: list[tuple[str, int]]
    unanswered: list[tuple[str, str, str, str]]  # time, reason, channel, text


def build_report(url: str | None = None, limit: int = 20) -> Report:
    if not inspect(get_engine(url)).has_table(AnswerLogRow.__tablename__):
        return Report([], [], [])
    with new_session(url) as session:
        asked = session.execute(
            select(AnswerLogRow.topic, func.count())
            .group_by(AnswerLogRow.topic)
            .order_by(func.count().desc(), AnswerLogRow.topic)
            .limit(limit)
        ).all()
        unhelpful = session.execute(
            select(FeedbackRow.topic, func.count())
            .where(FeedbackRow.helpful.is_(False))
            .group_by(FeedbackRow.topic)
            .order_by(func.count().desc(), FeedbackRow.topic)
            .limit(limit)
        ).all()
        unanswered = session.execute(
            select(UnansweredRow).order_by(UnansweredRow.created_at.desc()).limit(limit)
        ).scalars()
        questions = [(f"{r.created_at:%Y-%m-%d %H:%M}", r.reason, r.channel or "", r.text) for r in unanswered]
    return Report([tuple(r) for r in asked], [(t or "(unknown)", n) for t, n in unhelpful], questions)


def as_text(report: Report) -> str:
    lines = ["Most-asked topics:"]
    lines += [f"  {n:6d}  {topic}" for topic, n in report.most_asked] or ["  (none yet)"]
    lines += ["", "Topics marked not helpful:"]
    lines += [f"  {n:6d}  {topic}" for topic, n in report.unhelpful] or ["  (none yet)"]
    lines += ["", "Questions the assistant could not answer (newest first):"]
    lines += [f"  {when}  {reason:14s} {channel:8s} {text}" for when, reason, channel, text in report.unanswered] or [
        "  (none yet)"
    ]
    return "\n".join(lines)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """A value safe to open in a spreadsheet: text that a spreadsheet would run as a formula
    (patients' own words can start with = + - @) gets a leading apostrophe (OWASP's advice)."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value


def as_csv(report: Report) -> str:
    rows: list[Sequence[object]] = [
        *(["most_asked", topic, n, "", ""] for topic, n in report.most_asked),
        *(["unhelpful", topic, n, "", ""] for topic, n in report.unhelpful),
        *(["unanswered", when, reason, channel, text] for when, reason, channel, text in report.unanswered),
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "topic_or_time", "count_or_reason", "channel", "text"])
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()


def plot(report: Report, path: Path) -> Path:
    """A horizontal bar chart of the most-asked topics, saved as an image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    topics = [t for t, _ in report.most_asked][::-1]
    counts = [n for _, n in report.most_asked][::-1]
    figure, axes = plt.subplots(figsize=(8, max(2.5, 0.35 * len(topics) + 1)))
    axes.barh(topics or ["(none yet)"], counts or [0], color="#2b6cb0")
    axes.set_xlabel("answers given")
    axes.set_title("Most-asked topics")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
