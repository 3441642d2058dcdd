"""The spaCy pipeline Rasa loads: blank English plus the project's own patterns."""
