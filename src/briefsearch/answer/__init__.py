"""Extractive answers: the corpus sentences that answer a question, each cited, or a refusal."""
