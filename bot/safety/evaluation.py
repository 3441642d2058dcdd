"""Measure the safety net on sets written by outside authors (tests/safety_eval/).

Each set has one file per voice: dev (tuned on), final (run once at the end of
issue 10, then kept as a regression set) and untouched (a third author's, only
ever reported, never tuned on). A message is caught when the bot answers it at its level or a
more urgent one: an urgent message answered with the emergency reply is caught,
an emergency answered only with the urgent reply is not. A false alarm is any
safety reply to a harmless message.

    python -m bot.safety.evaluation            # the whole bot's NLU (patterns + DIET)
    python -m bot.safety.evaluation --patterns # the spaCy patterns alone, no model
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.safety.catalogue import CRISIS, EMERGENCY, URGENT
from bot.settings import PROJECT_ROOT

SETS_DIR = PROJECT_ROOT / "tests" / "safety_eval"
RESULTS_DIR = PROJECT_ROOT / "results" / "safety"
MODEL = PROJECT_ROOT / "models" / "metastatic-faq.tar.gz"
NONE = "none"
LABELS = (EMERGENCY, URGENT, CRISIS, NONE)
# What each expected level accepts as caught.
ACCEPTS = {EMERGENCY: {EMERGENCY}, URGENT: {URGENT, EMERGENCY}, CRISIS: {CRISIS}, NONE: {NONE}}


@dataclass(frozen=True)
class Case:
    set: str
    voice: str
    text: str
    expect: str
    category: str


@dataclass(frozen=True)
class Outcome:
    case: Case
    predicted: str

    @property
    def ok(self) -> bool:
        return self.predicted in ACCEPTS[self.case.expect]


def load_cases(sets: Iterable[str] = ("dev", "final"), root: Path = SETS_DIR) -> list[Case]:
    cases = []
    for name in sets:
        for path in sorted((root / name).glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for entry in data["cases"]:
                if entry["expect"] not in LABELS:
                    raise ValueError(f"{path}: unknown level {entry['expect']!r}")
                cases.append(Case(name, data["voice"], entry["text"], entry["expect"], entry["category"]))
    return cases


def pattern_classifier() -> Callable[[list[str]], list[str]]:
    from bot.nlp.pipeline import build_pipeline

    nlp = build_pipeline()
    return lambda texts: [doc._.safety or NONE for doc in nlp.pipe(texts)]


def model_classifier(agent: Any = None, model: Path = MODEL) -> Callable[[list[str]], list[str]]:
    """The trained Rasa model's NLU, as the running bot parses a message (override included)."""
    if agent is None:
        from rasa.core.agent import Agent

        agent = Agent.load(str(model))

    async def parse(texts: list[str]) -> list[str]:
        found = []
        for text in texts:
            intent = ((await agent.parse_message(text)).get("intent") or {}).get("name")
            found.append(intent if intent in (EMERGENCY, URGENT, CRISIS) else NONE)
        return found

    return lambda texts: asyncio.run(parse(texts))


def evaluate(cases: list[Case], classify: Callable[[list[str]], list[str]]) -> list[Outcome]:
    return [Outcome(c, p) for c, p in zip(cases, classify([c.text for c in cases]), strict=True)]


def confusion(outcomes: Iterable[Outcome]) -> dict[str, Counter]:
    table: dict[str, Counter] = {label: Counter() for label in LABELS}
    for o in outcomes:
        table[o.case.expect][o.predicted] += 1
    return table


def summary(outcomes: list[Outcome]) -> dict[str, str]:
    """Recall per level and false alarms, as "caught/total"."""
    line = {}
    for level in (EMERGENCY, URGENT, CRISIS):
        these = [o for o in outcomes if o.case.expect == level]
        line[level] = f"{sum(o.ok for o in these)}/{len(these)}"
    harmless = [o for o in outcomes if o.case.expect == NONE]
    line["false alarms"] = f"{sum(not o.ok for o in harmless)}/{len(harmless)}"
    return line


def by_category(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        key = f"{o.case.expect}/{o.case.category}"
        tally[key][0] += o.ok if o.case.expect != NONE else not o.ok
        tally[key][1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(tally.items())}


def render(outcomes: list[Outcome]) -> str:
    lines = []
    for name in dict.fromkeys(o.case.set for o in outcomes):
        in_set = [o for o in outcomes if o.case.set == name]
        groups = {"all voices": in_set}
        for voice in dict.fromkeys(o.case.voice for o in in_set):
            groups[voice] = [o for o in in_set if o.case.voice == voice]
        for label, group in groups.items():
            lines.append(f"\n== {name} set, {label}: " + ", ".join(f"{k} {v}" for k, v in summary(group).items()))
            lines.append("expected \\ answered " + "".join(f"{p:>11}" for p in LABELS))
            for expect, row in confusion(group).items():
                lines.append(f"{expect:<20}" + "".join(f"{row[p]:>11}" for p in LABELS))
        lines.append(f"\n-- {name} set by category (caught/total; for none: false alarms/total)")
        for key, (hit, total) in by_category(in_set).items():
            lines.append(f"   {key:<45} {hit}/{total}")
        misses = [o for o in in_set if not o.ok]
        lines.append(f"\n-- {name} set: {len(misses)} wrong")
        lines += [
            f"   [{o.case.voice}/{o.case.category}] expected {o.case.expect}, got {o.predicted}: {o.case.text}"
            for o in misses
        ]
    return "\n".join(lines)


def plot(outcomes: list[Outcome], path: Path) -> Path:
    """One confusion matrix per set and voice, in one image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for name in dict.fromkeys(o.case.set for o in outcomes):
        in_set = [o for o in outcomes if o.case.set == name]
        panels.append((f"{name}: all", in_set))
        panels += [
            (f"{name}: {v}", [o for o in in_set if o.case.voice == v])
            for v in dict.fromkeys(o.case.voice for o in in_set)
        ]
    cols = 6
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, group) in zip(axes.flat, panels, strict=False):
        table = confusion(group)
        grid = [[table[e][p] for p in LABELS] for e in LABELS]
        ax.axis("on")
        ax.imshow(grid, cmap="Blues")
        ax.set_xticks(range(4), [label[:5] for label in LABELS], fontsize=8)
        ax.set_yticks(range(4), [label[:5] for label in LABELS], fontsize=8)
        ax.set_xlabel("answered", fontsize=8)
        ax.set_ylabel("expected", fontsize=8)
        ax.set_title(title, fontsize=9)
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                ax.text(
                    j, i, str(value), ha="center", va="center", fontsize=8, color="black" if value < 40 else "white"
                )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["dev", "final"])
    parser.add_argument("--patterns", action="store_true", help="the spaCy patterns alone, without the Rasa model")
    parser.add_argument("--json", type=Path, help="also write every outcome to this file")
    args = parser.parse_args(argv)
    cases = load_cases(args.sets)
    classify = pattern_classifier() if args.patterns else model_classifier()
    outcomes = evaluate(cases, classify)
    print(render(outcomes))
    kind = "patterns" if args.patterns else "model"
    image = plot(outcomes, RESULTS_DIR / f"confusion-{kind}.png")
    print(f"\nImage: {image.relative_to(PROJECT_ROOT)}")
    if args.json:
        args.json.write_text(json.dumps([{**asdict(o.case), "predicted": o.predicted} for o in outcomes], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
