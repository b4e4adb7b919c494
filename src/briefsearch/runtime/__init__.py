"""The loaded model and index behind a long-running process, swapped to new versions live."""
