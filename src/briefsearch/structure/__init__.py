"""Extracted text -> typed blocks with section paths, following layout families kept as data."""
