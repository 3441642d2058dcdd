"""Emergency, urgent and crisis detection: the safety patterns (bot/nlp/safety_patterns.yml), its spaCy
matcher, and the context rules that keep past, negated and general mentions quiet.

Importing the package registers the spaCy "safety_matcher" factory.
"""

from bot.safety.catalogue import CRISIS, EMERGENCY, LEVELS, URGENT, load_catalogue
from bot.safety.matcher import SafetyMatcher

__all__ = ["CRISIS", "EMERGENCY", "LEVELS", "URGENT", "SafetyMatcher", "load_catalogue"]
