"""Structured blocks -> passages bounded in model tokens, with exact source offsets."""
