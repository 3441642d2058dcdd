"""Four outcomes per question, measured on the running bot (not on the NLU alone).

The sets are the real-world questions in tests/realworld/ (written by outside
authors, one voice per file, `dev` to tune on and `final` run once) and the
older held-out sets (tests/nlu_heldout*.yml). Every question goes, in a fresh
conversation, through the REST webhook of `python -m bot run`, and the replies
it gets are sorted into:

- answered: a medical answer on an expected topic (or, for a routing label such
  as personal_advice, that reply), and no answer on another topic;
- clarified: "Did you mean…?" with an expected topic among the choices;
- wrong: a medical answer on another topic (or a safety alarm for a question);
- no_help: anything else (a clarification without the topic, "not understood").

A two-question message is answered only when both of its topics are. A message
in Spanish is answered by the Spanish notice (the article is never translated).

    python -m bot.evaluation --sets dev            # starts the bot on free ports
    python -m bot.evaluation --url http://127.0.0.1:5005 --sets dev final heldout
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import local
from bot.knowledge import catalogue
from bot.settings import PROJECT_ROOT

REALWORLD_DIR = PROJECT_ROOT / "tests" / "realworld"
HELDOUT_FILES = {
    "heldout": PROJECT_ROOT / "tests" / "nlu_heldout.yml",
    "heldout_fresh": PROJECT_ROOT / "tests" / "nlu_heldout_fresh.yml",
    "heldout_routing": PROJECT_ROOT / "tests" / "nlu_heldout_routing.yml",
}
RESULTS_DIR = PROJECT_ROOT / "results" / "understanding"
OUTCOMES = ("answered", "clarified", "wrong", "no_help")
TOPICS = frozenset(key for key in catalogue.topics() if "/" not in key)
SAFETY = frozenset({"emergency", "urgent", "crisis"})
ROUTING = frozenset({"personal_advice", "handoff", "out_of_scope"})
# What else counts as the right reply for a label (an urgent message sent to 911 is caught).
ALSO_RIGHT = {"out_of_scope": {"not_understood"}, "urgent": {"emergency"}}


@dataclass(frozen=True)
class Case:
    set: str
    voice: str
    text: str
    expect: tuple[str, ...]
    second: tuple[str, ...] = ()
    language: str = "en"

    @property
    def in_scope(self) -> bool:
        """A question about one of the article's topics (the targets are counted on these)."""
        return bool(TOPICS & set(self.expect))


@dataclass
class Reply:
    """What the bot did with one message, read from the custom data of its replies."""

    answered: list[str] = field(default_factory=list)
    clarified: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    language: str = "en"


def read_reply(messages: list[dict[str, Any]]) -> Reply:
    reply = Reply()
    for message in messages:
        custom = message.get("custom") or {}
        if custom.get("topic"):
            reply.answered.append(custom["topic"])
        if custom.get("safety"):
            reply.kinds.append(custom["safety"])
        if custom.get("kind"):
            reply.kinds.append(custom["kind"])
            reply.clarified.extend(custom.get("topics") or [])
            reply.language = custom.get("language") or reply.language
    return reply


def _labels_ok(labels: Iterable[str], reply: Reply) -> bool:
    return any(label in reply.answered or {label, *ALSO_RIGHT.get(label, ())} & set(reply.kinds) for label in labels)


def outcome(case: Case, reply: Reply) -> str:
    expected = set(case.expect) | set(case.second)
    if set(reply.answered) - expected or (SAFETY & set(reply.kinds) and not SAFETY & expected):
        return "wrong"
    if case.language != "en" and not SAFETY & expected:
        return "answered" if "language" in reply.kinds and reply.language == case.language else "no_help"
    # Each question of the message: its topic answered, or offered, or neither.
    parts = [case.expect] + ([case.second] if case.second else [])
    results = []
    for i, labels in enumerate(parts):
        if _labels_ok(labels, reply):
            results.append("answered")
        elif i == 1 and not TOPICS & set(labels):
            results.append("answered")  # a personal or off-topic second question needs no answer of its own
        elif set(labels) & set(reply.clarified):
            results.append("clarified")
        else:
            results.append("no_help")
    for result in ("no_help", "clarified"):
        if result in results:
            return result
    return "answered"


# --- sets ---------------------------------------------------------------------------


def load_realworld(name: str, root: Path = REALWORLD_DIR) -> list[Case]:
    cases = []
    for path in sorted((root / name).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        language = "es" if data["voice"] == "spanish" else "en"
        for entry in data["questions"]:
            labels = tuple(entry["expect"]) + tuple(entry.get("second") or ())
            unknown = set(labels) - TOPICS - ROUTING
            if unknown:
                raise ValueError(f"{path}: unknown labels {sorted(unknown)} for {entry['text']!r}")
            cases.append(
                Case(
                    name,
                    data["voice"],
                    str(entry["text"]),
                    tuple(entry["expect"]),
                    tuple(entry.get("second") or ()),
                    language,
                )
            )
    return cases


def load_heldout(name: str) -> list[Case]:
    """A Rasa NLU file (intent -> examples); the expected label is the intent without "ask_"."""
    data = yaml.safe_load(HELDOUT_FILES[name].read_text(encoding="utf-8"))
    cases = []
    for block in data["nlu"]:
        label = block["intent"].removeprefix("ask_")
        for line in block["examples"].splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text:
                cases.append(Case(name, "team", text, (label if label in TOPICS else block["intent"],)))
    return cases


def load(name: str) -> list[Case]:
    return load_heldout(name) if name in HELDOUT_FILES else load_realworld(name)


# --- running -----------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    case: Case
    outcome: str
    reply: Reply
    seconds: float


Sender = Callable[[str], list[dict[str, Any]]]


def rest_sender(base_url: str) -> Sender:
    """Each message in its own conversation, as a new visitor would send it."""
    import requests

    session = requests.Session()
    url = base_url.rstrip("/") + "/webhooks/rest/webhook"
    token = os.environ.get("REST_TOKEN")  # a production bot's REST channel needs it
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def send(text: str) -> list[dict[str, Any]]:
        body = {"sender": f"eval-{uuid.uuid4().hex}", "message": text}
        response = session.post(url, json=body, headers=headers, timeout=60)
        response.raise_for_status()
        return response.json()

    return send


def evaluate(cases: Iterable[Case], send: Sender) -> list[Result]:
    results = []
    for case in cases:
        started = time.perf_counter()
        reply = read_reply(send(case.text))
        results.append(Result(case, outcome(case, reply), reply, time.perf_counter() - started))
    return results


@contextmanager
def local_bot() -> Iterator[str]:
    """`python -m bot run` on free ports with throwaway databases and no rate limits."""
    tmp = Path(tempfile.mkdtemp(prefix="bot-eval-"))
    bot = local.start(
        tmp,
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}",
            "TRACKER_DATABASE_URL": f"sqlite:///{tmp / 'conversations.db'}",
            "REDIS_URL": "",
            "RATE_LIMIT_PER_SENDER": "0",
            "RATE_LIMIT_PER_ADDRESS": "0",
        },
    )
    try:
        yield bot.base
    finally:
        bot.process.terminate()
        bot.process.wait(timeout=60)


# --- reporting ---------------------------------------------------------------------


def table(results: list[Result]) -> dict[str, dict[str, Any]]:
    """Per voice and in total: the four outcomes on in-scope questions, routing accuracy."""
    groups: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        groups[result.case.voice].append(result)
    groups["all"] = list(results)
    rows = {}
    for voice, group in groups.items():
        scoped = [r for r in group if r.case.in_scope]
        counts = Counter(r.outcome for r in scoped)
        routing = [r for r in group if not r.case.in_scope]
        rows[voice] = {
            "in_scope": len(scoped),
            **{name: counts[name] / len(scoped) if scoped else 0.0 for name in OUTCOMES},
            "routing": len(routing),
            "routing_right": (sum(r.outcome == "answered" for r in routing) / len(routing)) if routing else None,
            "routing_wrong": sum(r.outcome == "wrong" for r in routing),
        }
    return rows


def render(name: str, rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"{name}: outcomes on in-scope questions, routing messages apart",
        f"{'voice':<14}{'n':>5}{'answered':>10}{'clarified':>11}{'wrong':>8}{'no help':>9}{'routing':>13}",
    ]
    for voice, row in rows.items():
        routing = "-" if row["routing_right"] is None else f"{row['routing_right']:.0%} of {row['routing']}"
        lines.append(
            f"{voice:<14}{row['in_scope']:>5}{row['answered']:>10.1%}{row['clarified']:>11.1%}"
            f"{row['wrong']:>8.1%}{row['no_help']:>9.1%}{routing:>13}"
        )
    return "\n".join(lines)


def plot(name: str, rows: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    voices = list(rows)
    colours = {"answered": "#2e7d32", "clarified": "#9ccc65", "wrong": "#c62828", "no_help": "#bdbdbd"}
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(voices) + 1.4))
    left = [0.0] * len(voices)
    for name_ in OUTCOMES:
        values = [rows[v][name_] * 100 for v in voices]
        ax.barh(voices, values, left=left, color=colours[name_], label=name_.replace("_", " "))
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of in-scope questions")
    ax.set_title(f"{name}: what the bot did with each question")
    ax.legend(ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.08), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def misses(results: list[Result]) -> str:
    return "\n".join(
        f"  [{r.outcome}] ({r.case.voice}) {r.case.text[:110]!r} expected {'+'.join(r.case.expect + r.case.second)}"
        f" got answers={r.reply.answered} offered={r.reply.clarified} kinds={r.reply.kinds}"
        for r in results
        if r.outcome != "answered"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["dev", "heldout", "heldout_fresh", "heldout_routing"])
    parser.add_argument("--url", help="a running bot; by default one is started on free ports")
    parser.add_argument("--misses", action="store_true", help="list every question not answered")
    parser.add_argument("--json", type=Path, help="write the tables here")
    args = parser.parse_args(argv)

    def run(url: str) -> dict[str, Any]:
        send = rest_sender(url)
        report: dict[str, Any] = {}
        for name in args.sets:
            results = evaluate(load(name), send)
            rows = table(results)
            print(render(name, rows))
            latencies = sorted(r.seconds for r in results)
            print(f"  p50 latency {statistics.median(latencies) * 1000:.0f} ms over {len(latencies)} messages\n")
            if args.misses:
                print(misses(results) + "\n")
            plot(name, rows, RESULTS_DIR / f"{name}.png")
            report[name] = {"rows": rows, "p50_ms": statistics.median(latencies) * 1000}
        return report

    if args.url:
        report = run(args.url)
    else:
        with local_bot() as url:
            report = run(url)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    print(f"Plots: {RESULTS_DIR}/<set>.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
