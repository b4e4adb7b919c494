"""Retrieval-quality evaluation: question sets, the evaluator, thresholds and reports."""
