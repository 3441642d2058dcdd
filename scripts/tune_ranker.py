"""Choose the QuestionRanker's weights and the fallback thresholds on the development sets.

Loads the trained model once, then for each setting re-parses the sets with the
real pipeline (patterns, DIET, ranker, overrides, fallback) and reads what the
bot would do from the parse, as `bot.evaluation` reads it from the replies.
Never run it on tests/realworld/final: that set is run once, by `make evaluate`.

    .venv/bin/python scripts/tune_ranker.py --sets dev heldout heldout_fresh heldout_routing
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from typing import Any

from actions.actions import closest_topics
from bot.evaluation import Case, Reply, Result, load, outcome, render, table
from bot.nlp.ranker import ALSO_ASKED_KEY, QUESTIONS_KEY, QuestionRanker
from bot.settings import PROJECT_ROOT

MODEL = PROJECT_ROOT / "models" / "metastatic-faq.tar.gz"
ROUTING_KINDS = {"personal_advice", "handoff", "out_of_scope"}


def reply_from_parse(parse: dict[str, Any]) -> Reply:
    """What the actions would send for this parse, without running them."""
    name = parse["intent"]["name"]
    reply = Reply(language=parse.get("language") or "en")
    if name == "nlu_fallback":
        topics = closest_topics(parse)
        reply.kinds.append("clarify" if topics else "not_understood")
        reply.clarified.extend(topics)
    elif name.startswith("ask_") and name not in ("ask_source", "ask_capabilities"):
        asked = parse.get(QUESTIONS_KEY) or []
        reply.answered.extend(q.removeprefix("ask_") for q in (asked if name in asked else [name]))
        if len(reply.answered) == 1 and parse.get(ALSO_ASKED_KEY):
            reply.kinds.append("clarify")
            reply.clarified.extend(t.removeprefix("ask_") for t in parse[ALSO_ASKED_KEY])
    elif name == "other_language":
        reply.kinds.append("language")
    else:
        reply.kinds.append(name)
    return reply


def nodes(agent: Any) -> dict[str, Any]:
    runner = agent.processor.graph_runner
    return {name: node._component for name, node in runner._instantiated_nodes.items()}


async def parse_all(agent: Any, cases: list[Case]) -> list[dict[str, Any]]:
    return [await agent.parse_message(case.text) for case in cases]


def main() -> None:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    logging.disable(logging.WARNING)
    configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level otherwise

    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", nargs="+", default=["dev", "heldout", "heldout_fresh", "heldout_routing"])
    parser.add_argument("--weights", nargs="+", default=["0.5,0.2,0.3"], help="diet,whole,asked;...")
    parser.add_argument("--thresholds", nargs="+", default=["0.4"], help="FallbackClassifier thresholds")
    parser.add_argument("--second", nargs="+", default=["0.5"], help="second_question_min values")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--without", nargs="*", default=[], choices=["spelling", "language", "two-questions"],
                        help="switch a technique off, to measure what it adds")  # fmt: skip
    args = parser.parse_args()
    if "final" in args.sets:
        parser.error("the final set is not for tuning")

    agent = Agent.load(str(MODEL))
    components = nodes(agent)
    ranker = next(c for c in components.values() if isinstance(c, QuestionRanker))
    fallback = next(c for c in components.values() if type(c).__name__ == "FallbackClassifier")
    sets = {name: load(name) for name in args.sets}
    for component in components.values():
        if "spelling" in args.without and type(component).__name__ == "SpellingCorrector":
            component.correct = lambda word: None
        if "language" in args.without and type(component).__name__ == "LanguageRouter":
            type(component).process = lambda self, messages: messages
    for weights, threshold, second in itertools.product(args.weights, args.thresholds, args.second):
        ranker.config["weights"] = [float(w) for w in weights.split(",")]
        ranker.config["second_question_min"] = float(second)
        if "two-questions" in args.without:
            ranker.config["second_question_min"] = ranker.config["also_min"] = 2.0
        fallback.component_config["threshold"] = float(threshold)
        print(f"\n### weights {weights}  fallback threshold {threshold}  second question {second}")
        for name, cases in sets.items():
            parses = asyncio.run(parse_all(agent, cases))
            results = []
            for case, parse in zip(cases, parses, strict=True):
                reply = reply_from_parse(parse)
                results.append((case, outcome(case, reply), reply))
            rows = table([Result(c, o, r, 0.0) for c, o, r in results])
            print(render(name, {k: v for k, v in rows.items() if k == "all" or len(rows) <= 3 or args.misses}))
            if args.misses:
                for case, result, reply in results:
                    if result != "answered":
                        expected = "+".join(case.expect + case.second)
                        print(
                            f"  [{result}] ({case.voice}) {case.text[:100]!r} expected {expected} "
                            f"got {reply.answered} {reply.clarified} {reply.kinds}"
                        )


if __name__ == "__main__":
    main()
