"""Metastatic cancer FAQ assistant: knowledge base, NLP pipeline, channels and tools."""
